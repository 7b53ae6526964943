"""Group commit: several devices' requests ingested in one transaction, each under its token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.factories.events import Device
from tests.factories.screening import RoundSetup, build_round_with_live_tokens
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.rules import resident_code
from tongxin.screening.capture import (
    CaptureFailed,
    CaptureRequest,
    CaptureWriter,
    Taken,
    TokenRefused,
    write_group,
)
from tongxin.screening.ledger import Batch, ingest_batches
from tongxin.screening.models import Event, Swab
from tongxin.screening.setup import DeviceScope

CODES = [resident_code(10_000 + i) for i in range(30)]


@pytest.fixture
def rs(db: Engine) -> RoundSetup:
    """The factory round, with its tokens issued now (the factory's are from 2022)."""
    with session_scope(make_sessionmaker(db)) as s:
        return build_round_with_live_tokens(s)


def _count(db: Engine, model: type) -> int:
    with session_scope(make_sessionmaker(db)) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_each_batch_of_a_shared_call_is_decided_under_its_own_scope(session, rs):
    pad = Device("pad-1")
    site = DeviceScope("pad-1", rs.round.id, rs.site.id, None)
    lab = DeviceScope("lab-1", rs.round.id, None, rs.lab.id)
    swab = pad.swab(rs.stations[0].code, rs.tubes10[0], CODES[0])
    # The same kind of event from a lab token is outside its scope.
    lab_swab = Device("lab-1").swab(rs.stations[0].code, rs.tubes10[1], CODES[1])
    answers = ingest_batches(
        session,
        batches=[Batch([swab], site), Batch([lab_swab], lab), Batch([swab], None)],
        received_at=datetime.now(UTC),
    )
    assert [[a.status for a in batch] for batch in answers] == [
        ["accepted"],
        ["rejected"],
        ["duplicate"],
    ]
    assert answers[1][0].code == "scope_denied"


def test_a_group_answers_each_request_and_refuses_only_the_bad_token(db, rs):
    factory = make_sessionmaker(db)
    pad = Device("pad-1")
    requests = [
        CaptureRequest(rs.site_token, [pad.swab(rs.stations[0].code, rs.tubes10[0], CODES[i])])
        for i in range(5)
    ]
    requests.insert(
        2, CaptureRequest("txd_unknown", [pad.swab(rs.stations[0].code, rs.tubes10[1], CODES[9])])
    )
    outcomes = write_group(factory, requests)
    assert isinstance(outcomes[2], TokenRefused)
    taken = [o for o in outcomes if isinstance(o, Taken)]
    assert len(taken) == 5
    assert all(o.answers[0].status == "accepted" for o in taken)
    assert [o.answers[0].id for o in taken] == [
        r.events[0]["id"] for i, r in enumerate(requests) if i != 2
    ]
    assert _count(db, Swab) == 5
    assert _count(db, Event) == 5


def test_a_request_that_breaks_the_shared_transaction_fails_alone(db, rs):
    factory = make_sessionmaker(db)
    pad = Device("pad-1")
    good = [
        CaptureRequest(rs.site_token, [pad.swab(rs.stations[0].code, rs.tubes10[0], CODES[i])])
        for i in range(3)
    ]
    # A value JSON cannot store makes the insert of the shared batch fail.
    poisoned = pad.swab(rs.stations[0].code, rs.tubes10[1], CODES[5])
    poisoned["note"] = object()
    outcomes = write_group(factory, [good[0], CaptureRequest(rs.site_token, [poisoned]), *good[1:]])
    assert isinstance(outcomes[1], CaptureFailed)
    assert [o.answers[0].status for o in outcomes if isinstance(o, Taken)] == ["accepted"] * 3
    assert _count(db, Event) == 3


def test_the_writer_answers_concurrent_requests_once_they_are_committed(db, rs):
    writer = CaptureWriter(make_sessionmaker(db))
    pad = Device("pad-1")
    requests = [
        CaptureRequest(
            rs.site_token, [pad.swab(rs.stations[0].code, rs.tubes10[i // 10], CODES[i])]
        )
        for i in range(20)
    ]

    async def send_all() -> list[Taken]:
        return await asyncio.gather(*(writer.submit(r) for r in requests))

    try:
        taken = asyncio.run(send_all())
        with pytest.raises(TokenRefused):
            asyncio.run(writer.submit(CaptureRequest("txd_unknown", requests[0].events)))
    finally:
        writer.stop()
    assert [t.answers[0].status for t in taken] == ["accepted"] * 20
    assert _count(db, Swab) == 20
