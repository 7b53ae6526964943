"""Crash recovery: SIGKILL the server mid-stream again and again; nothing is lost or doubled.

A client sends a simulated round of 100,000 events in batches to `tongxin serve` running as
a subprocess on the test database. At six randomly chosen batches the server is killed
(SIGKILL) at a random moment of that request, or right after its answer arrives, and started
again. The client resends every batch it has no answer for. At the end the events table
holds every sent id exactly once, the reconciliation is exact, and every tube, box, swab and
recall is what a clean ingest of the stream gives.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.factories.screening import ROUND_START, build_round
from tests.integration.screening.simulated import projections, round_facts
from tongxin.bench.server import Server, post_batch
from tongxin.db import make_sessionmaker, session_scope
from tongxin.screening.models import Event, Site
from tongxin.screening.reconcile import reconcile
from tongxin.screening.setup import issue_device_token
from tongxin.screening.simulate import STAGE_ORDER, STAGES, by_stage, simulate_round

EVENTS = 100_000
PEOPLE = 80_000  # about 1.26 events per person at 10:1 with 1 % positive pools
BATCH = 500
KILLS = 6
LAB_EVENTS = {"box_received", "result_reported"} | {t for t, s in STAGES.items() if s == "recalls"}


def _batches(stream: list[dict[str, Any]], tokens: dict[str, str]) -> list[tuple[str, list]]:
    """Cut the stream into batches of one token each, in stream order."""
    out: list[tuple[str, list]] = []
    for event in stream:
        token = tokens["lab" if event["type"] in LAB_EVENTS else "site"]
        if not out or out[-1][0] != token or len(out[-1][1]) == BATCH:
            out.append((token, []))
        out[-1][1].append(event)
    return out


def test_killed_server_loses_and_doubles_nothing(db, database_url):
    rng = Random(20220923)
    factory = make_sessionmaker(db)
    now = datetime.now(UTC)
    with session_scope(factory) as session:
        r = build_round(session)
        facts = round_facts(
            session,
            r,
            residents=30,
            visitors=PEOPLE - 30,
            stations=40,
            tubes10=PEOPLE // 10 + 50,
            retests=3000,
            rng=rng,
        )
        s2 = session.scalars(select(Site).where(Site.code == "S2")).one()
        tokens = {
            "site": issue_device_token(session, round=r.round, device="pads", now=now, site=s2)[0],
            "lab": issue_device_token(session, round=r.round, device="lab", now=now, lab=r.lab)[0],
        }
        round_id = r.round.id
    sim = simulate_round(facts, rng)
    stages = by_stage(sim.events)
    stream = [e for stage in STAGE_ORDER for e in stages[stage]]
    assert len(stream) >= EVENTS
    batches = _batches(stream, tokens)
    doomed = set(rng.sample(range(1, len(batches) - 1), KILLS))

    server = Server(database_url=database_url)
    server.start()
    timers: list[threading.Timer] = []
    attempts = 0
    final: Counter[str] = Counter()

    def crash() -> None:
        server.kill()
        server.start()

    try:
        with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
            for n, (token, events) in enumerate(batches):
                # Half the kills land during a request, half right after its answer arrives:
                # an answer sent before its transaction commits would lose acknowledged events.
                right_after = n in doomed and rng.random() < 0.5
                if n in doomed and not right_after:
                    timers.append(threading.Timer(rng.uniform(0.0, 0.15), crash))
                    timers[-1].start()
                while True:
                    attempts += 1
                    try:
                        answers = post_batch(client, token=token, events=events)
                        break
                    except (httpx.TransportError, httpx.HTTPStatusError):
                        time.sleep(0.05)
                final.update(a["status"] for a in answers)
                if right_after:
                    crash()
        for timer in timers:
            timer.join()
    finally:
        server.kill()

    assert server.starts == KILLS + 1
    assert attempts > len(batches)  # at least one request died with the server
    assert final["rejected"] == 0
    assert final["accepted"] + final["duplicate"] == len(stream)

    sent = {e["id"] for e in stream}
    with session_scope(factory) as session:
        stored = list(session.scalars(select(Event.id).where(Event.round_id == round_id)))
        assert len(stored) == len(sent) == len(set(stored))
        assert set(stored) == sent
        rejected = session.scalar(
            select(func.count()).select_from(Event).where(Event.status != "accepted")
        )
        assert rejected == 0

        rec = reconcile(session, round_id=round_id, now=ROUND_START + timedelta(days=3))
        assert rec.mismatches == []
        assert rec.counts() == {
            "people_sampled": sim.people,
            "tube_members": sim.people,
            "tubes_closed": len(sim.tubes),
            "tubes_in_sealed_boxes": len(sim.tubes),
            "boxes_sealed": len(sim.boxes),
            "boxes_handed_over": len(sim.boxes),
            "boxes_received": len(sim.boxes),
            "tubes_received": len(sim.tubes),
            "tubes_resulted": len(sim.tubes),
            "positive_tubes": len(sim.positive_tubes),
            "recalls_open": 0,
            "rejected_events": 0,
        }
        live = projections(session, round_id)

    # What a clean ingest of the stream gives, tube by tube, box by box, person by person.
    positive = set(sim.positive_tubes)
    assert {t[0]: (t[1], t[2], t[6]) for t in live["tubes"] if t[2]} == {
        tube: ("resulted", sim.members[tube], "positive" if tube in positive else "negative")
        for tube in sim.tubes
    }
    assert {b[0]: (b[2], b[3]) for b in live["boxes"]} == {
        code: (len(tubes), "received") for code, tubes in sim.boxes.items()
    }
    swabs = [e["id"] for e in stream if e["type"] == "swab_taken"]
    assert sorted(s[0] for s in live["swabs"]) == sorted(swabs)
    assert len({(s[1], s[2]) for s in live["swabs"]}) == len(swabs)
    assert [c[2] for c in live["recalls"]] == ["closed"] * sim.recalls
