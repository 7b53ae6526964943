"""Crash recovery: SIGKILL the server mid-stream again and again; nothing is lost or doubled.

Three clients send a simulated round of 100,000 events in batches (each device's events in
order, stage by stage) to `tongxin serve` running as a subprocess on the test database. At
six randomly chosen batches the server is killed (SIGKILL) at a random moment of that
request, or right after its answer arrives, and started again. Each client resends every
batch it has no answer for. At the end the events table holds every sent id exactly once,
the reconciliation is exact, and every tube, box, swab and recall is what a clean ingest of
the stream gives.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
CLIENTS = 3  # devices send at the same time, each its own events in order
LAB_EVENTS = {"box_received", "result_reported"} | {t for t, s in STAGES.items() if s == "recalls"}


@dataclass
class Batch:
    token: str
    events: list[dict[str, Any]]
    kill: str | None = None  # "during" the request, or right "after" its answer
    delay: float = 0.0


def _plan(stream: list[dict[str, Any]], tokens: dict[str, str]) -> list[list[list[Batch]]]:
    """Cut the stream by stage, then by device into batches; spread devices over clients."""
    plan: list[list[list[Batch]]] = []
    for stage in STAGE_ORDER:
        by_device: dict[str, list[dict[str, Any]]] = {}
        for event in stream:
            if STAGES[event["type"]] == stage:
                by_device.setdefault(event["device"], []).append(event)
        clients: list[list[Batch]] = [[] for _ in range(CLIENTS)]
        for n, events in enumerate(by_device.values()):
            token = tokens["lab" if events[0]["type"] in LAB_EVENTS else "site"]
            clients[n % CLIENTS] += [
                Batch(token, events[i : i + BATCH]) for i in range(0, len(events), BATCH)
            ]
        plan.append(clients)
    return plan


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
    plan = _plan(stream, tokens)
    batches = [batch for stage in plan for client in stage for batch in client]
    for batch in rng.sample(batches, KILLS):
        # Half the kills land during a request, half right after its answer arrives:
        # an answer sent before its transaction commits would lose acknowledged events.
        batch.kill = rng.choice(["during", "after"])
        batch.delay = rng.uniform(0.0, 0.15)

    server = Server(database_url=database_url)
    server.start()
    restart = threading.Lock()
    timers: list[threading.Timer] = []

    def crash() -> None:
        with restart:
            server.kill()
            server.start()

    def send(batches: list[Batch]) -> Counter[str]:
        counted: Counter[str] = Counter()
        with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
            for batch in batches:
                if batch.kill == "during":
                    timers.append(threading.Timer(batch.delay, crash))
                    timers[-1].start()
                while True:
                    counted["requests"] += 1
                    try:
                        answers = post_batch(client, token=batch.token, events=batch.events)
                        break
                    except (httpx.TransportError, httpx.HTTPStatusError):
                        time.sleep(0.05)
                counted.update(a["status"] for a in answers)
                if batch.kill == "after":
                    crash()
        return counted

    final: Counter[str] = Counter()
    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            for stage in plan:
                for counted in pool.map(send, stage):
                    final.update(counted)
        for timer in timers:
            timer.join()
    finally:
        server.stop()
    attempts = final.pop("requests")

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
