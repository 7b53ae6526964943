"""Concurrent batches filling the same tube never overfill it or reuse a position.

Two threads, each with its own connection and transaction, send eight swabs each into the
same 10:1 tube at the same moment. On PostgreSQL the batch locks its tubes `FOR UPDATE`
and writes the fill with a conditional update; on SQLite the batch takes the single
writer lock before reading. Either way exactly ten swabs get in.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.factories.events import Device
from tests.factories.screening import ROUND_START, build_round
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.rules import resident_code
from tongxin.screening.ledger import ingest_events
from tongxin.screening.models import Swab, Tube

CODES = [resident_code(10_000 + i) for i in range(30)]


def test_two_concurrent_batches_fill_one_tube_to_exactly_its_capacity(db: Engine):
    factory = make_sessionmaker(db)
    with session_scope(factory) as s:
        rs = build_round(s)
    barcode = rs.tubes10[0]
    batches = [
        [Device(f"pad-{d}").swab(rs.stations[d].code, barcode, CODES[d * 8 + i]) for i in range(8)]
        for d in range(2)
    ]
    start = threading.Barrier(2)
    statuses: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            start.wait()
            with session_scope(factory) as s:
                answers = ingest_events(
                    s, events=batches[n], received_at=ROUND_START + timedelta(hours=1)
                )
            statuses[n] = [a.code or a.status for a in answers]
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    every = statuses[0] + statuses[1]
    assert every.count("accepted") == 10
    assert every.count("tube_full") == 6
    with session_scope(factory) as s:
        tube = s.scalars(select(Tube).where(Tube.barcode == barcode)).one()
        assert (tube.member_count, tube.state) == (10, "closed")
        positions = s.scalars(select(Swab.position).where(Swab.tube_id == tube.id)).all()
        assert sorted(positions) == list(range(1, 11))
        assert s.scalar(select(func.count()).select_from(Swab)) == 10
