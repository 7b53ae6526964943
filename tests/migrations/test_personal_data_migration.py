"""Revision 0006 seals the ID numbers a database already holds, with the configured keys."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import select, text

from tongxin import migrate
from tongxin.privacy.keys import ring_of
from tongxin.privacy.service import PAYLOAD_ID_COLUMN
from tongxin.registry.models import Resident

NUMBER = "52011319850309018X"
WALK_IN = "11010519491231002X"


def _plain_rows(conn: sa.Connection) -> None:
    conn.execute(
        text("INSERT INTO areas (id, code, name, level) VALUES (1, '520113', '白云区', 'district')")
    )
    conn.execute(
        text(
            "INSERT INTO households (id, area_id, room, district_id, street_id, community_id,"
            " compound_id, building_id) VALUES (1, 1, '101', 1, 1, 1, 1, 1)"
        )
    )
    resident = {
        "id": 1,
        "resident_code": "0000001",
        "name": "张三",
        "gender": "M",
        "birth_date": date(1985, 3, 9),
        "id_type": "resident_card",
        "id_number": NUMBER,
        "id_tail": NUMBER[-4:],
        "household_id": 1,
        "district_id": 1,
        "street_id": 1,
        "community_id": 1,
        "compound_id": 1,
        "building_id": 1,
        "bedridden": False,
        "disabled": False,
        "pregnant": False,
        "key_group": False,
        "no_smartphone": False,
        "status": "present",
    }
    residents = sa.table("residents", *(sa.column(c) for c in resident))
    conn.execute(sa.insert(residents).values(**resident))
    events = sa.table(
        "events",
        *(sa.column(c) for c in ("id", "device", "seq", "type", "at", "received_at", "status")),
        sa.column("payload", sa.JSON),
    )
    now = datetime(2022, 9, 23, tzinfo=UTC)
    conn.execute(
        sa.insert(events).values(
            id="e-1",
            device="pad-1",
            seq=1,
            type="swab_taken",
            at=now,
            received_at=now,
            status="accepted",
            payload={"type": "swab_taken", "person": {"id_number": WALK_IN, "name": "访客"}},
        )
    )


def test_upgrading_a_populated_database_seals_its_id_numbers(empty_engine):
    migrate.upgrade(empty_engine, "0005")
    with empty_engine.begin() as conn:
        _plain_rows(conn)

    migrate.upgrade(empty_engine)

    ring = ring_of(empty_engine)
    with empty_engine.connect() as conn:
        raw, hashed = conn.execute(text("SELECT id_number, id_number_hash FROM residents")).one()
        payload = conn.execute(
            select(sa.table("events", sa.column("payload", sa.JSON)).c.payload)
        ).scalar_one()
        number = conn.execute(select(Resident.id_number)).scalar_one()
    assert raw.startswith("v1:") and NUMBER not in raw
    assert hashed == ring.lookup_hash(NUMBER)
    assert number == NUMBER
    sealed = payload["person"]["id_number"]
    assert ring.decrypt(sealed, column=PAYLOAD_ID_COLUMN) == WALK_IN
