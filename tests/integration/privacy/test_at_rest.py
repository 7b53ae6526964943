"""ID numbers never reach the database in plaintext, yet every reader sees them as before."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.privacy.stored import (
    BROKEN_LINE_NUMBER,
    RESIDENT_NUMBER,
    WALK_IN_NUMBER,
    raw_database_bytes,
    stage,
)
from tongxin.db import make_sessionmaker, session_scope
from tongxin.privacy.keys import ring_of
from tongxin.privacy.service import PAYLOAD_ID_COLUMN, open_payload
from tongxin.registry.models import Resident
from tongxin.screening.models import Event, Swab
from tongxin.screening.rejected import unresolved_flagged


def test_no_plaintext_id_number_is_in_the_database_file_or_dump(db, database_url):
    with session_scope(make_sessionmaker(db)) as s:
        staged = stage(s)

    raw = raw_database_bytes(db, database_url)

    assert b"resident" in raw  # the bytes really are the database
    for number in [*staged.numbers, WALK_IN_NUMBER, BROKEN_LINE_NUMBER]:
        assert number.encode() not in raw, number
    # Not even the digits before the check character, nor the walk-in's.
    assert RESIDENT_NUMBER[:-1].encode() not in raw
    assert WALK_IN_NUMBER[:-1].encode() not in raw


def test_readers_get_the_numbers_back_and_lookups_use_the_keyed_hash(db):
    with session_scope(make_sessionmaker(db)) as s:
        staged = stage(s)
    ring = ring_of(db)
    with session_scope(make_sessionmaker(db)) as s:
        stored = set(s.scalars(select(Resident.id_number)))
        assert set(staged.numbers) <= stored
        found = s.scalar(
            select(Resident.name).where(
                Resident.id_number_hash == ring.lookup_hash(RESIDENT_NUMBER)
            )
        )
        assert found == "导入0"
        walk_in = s.scalars(select(Swab).where(Swab.resident_id.is_(None))).one()
        assert walk_in.id_number == WALK_IN_NUMBER
        assert walk_in.id_number_hash == ring.lookup_hash(WALK_IN_NUMBER)
        payload = s.scalar(select(Event.payload).where(Event.type == "swab_taken"))
        sealed = payload["person"]["id_number"]
        assert sealed.startswith("v1:") and ring.decrypt(sealed, column=PAYLOAD_ID_COLUMN) == (
            WALK_IN_NUMBER
        )
        broken = s.scalar(select(Event.payload).where(Event.status == "rejected"))
        assert broken["unparsed"].startswith("v1:") and broken["where"] == "pad-1.ndjson:7"
        assert BROKEN_LINE_NUMBER in open_payload(ring, broken)["unparsed"]


def test_comparing_a_sealed_column_directly_is_refused(db):
    import pytest

    with pytest.raises(TypeError, match="lookup hash"):
        select(Resident).where(Resident.id_number == RESIDENT_NUMBER)


def test_a_walk_in_swabbed_twice_is_one_duplicate_person_found_by_hash(db):
    from datetime import timedelta

    from tests.factories.events import Device
    from tests.factories.screening import ROUND_START, build_round
    from tongxin.screening.ledger import ingest_events, rebuild_projections

    with session_scope(make_sessionmaker(db)) as s:
        rs = build_round(s, residents=1)
        pad = Device()
        first = pad.swab(rs.stations[0].code, rs.tubes10[0], id_number=WALK_IN_NUMBER, name="访客")
        ingest_events(s, events=[first], received_at=ROUND_START + timedelta(hours=1))
    with session_scope(make_sessionmaker(db)) as s:
        again = Device("pad-2").swab(
            rs.stations[1].code, rs.tubes10[1], id_number=WALK_IN_NUMBER, name="访客"
        )
        [answer] = ingest_events(s, events=[again], received_at=ROUND_START + timedelta(hours=2))
        assert (answer.status, answer.flag) == ("accepted", "duplicate_person")
        flagged = unresolved_flagged(s, round_id=rs.round.id)
        assert flagged[0].payload["person"]["id_number"] == WALK_IN_NUMBER
    with session_scope(make_sessionmaker(db)) as s:
        report = rebuild_projections(s, round_id=rs.round.id)
        assert (report.accepted, report.divergent) == (2, [])
        assert s.scalars(select(Swab.duplicate_person).order_by(Swab.id)).all() == [False, True]
