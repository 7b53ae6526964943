"""`tongxin bench ingest`: the capture path against a raw executemany of the same event rows.

One throw-away database (a temp SQLite file, or a fresh PostgreSQL schema) holds a demo
district and one round per measured path, so every path ingests a fresh, valid stream from
the round simulator into the same tables:

(a) baseline: the event rows of the service path's stream, inserted with one Core
    executemany into `events`, then deleted again;
(b) service: `ingest_events` in batches of 1000 (as `tongxin screening ingest` reads a dump),
    one transaction per batch, in this process, with the background WAL checkpointer;
(c) HTTP: `tongxin serve` as a subprocess (1 and 2 workers), clients in threads with
    keep-alive connections POSTing each device's events in batches of 500 with its token,
    stage by stage (swabs, boxes, receipts, results, recalls) so no event overtakes its cause;
(d) single events: one-event requests offered at a fixed rate on an open-loop schedule;
    latency counts from the scheduled send time, so a slow server cannot hide its queue.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from random import Random
from typing import Any

import httpx
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine

from tongxin.bench.importing import temporary_database
from tongxin.bench.rounds import BenchRound, setup_round
from tongxin.bench.server import CAPTURE_PATH, KeepAlivePool, Server, key_env, post_body
from tongxin.db import WalCheckpointer, make_sessionmaker, session_scope
from tongxin.demo.service import build_district
from tongxin.screening.cli_ledger import BATCH as CLI_INGEST_BATCH
from tongxin.screening.models import Event, Round
from tongxin.screening.simulate import STAGE_ORDER, STAGES, simulate_round

Step = Callable[[str], None]
BATCH = 500  # events per device request on the HTTP path
SERVICE_BATCH = CLI_INGEST_BATCH  # events per transaction on the service path
# Simulated events per present resident at 10:1 with 1 % positive pools is about 1.2.
EVENTS_PER_PERSON = 1.15


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def stream_for(
    engine: Engine, *, code: str, events: int, seed: int, now: datetime
) -> tuple[BenchRound, list[dict[str, Any]]]:
    """Set up round `code` and return the first `events` events of its simulated stream."""
    rng = Random(f"{seed}-{code}")
    bench_round = setup_round(engine, rng=rng, now=now, code=code, tokens=True)
    stream = simulate_round(bench_round.facts, rng).events[:events]
    return bench_round, stream


def event_rows(
    events: Sequence[Mapping[str, Any]], *, round_id: int, district_id: int, received_at: datetime
) -> list[dict[str, Any]]:
    """Return `events` as rows of the ledger table, accepted (the baseline's rows)."""
    return [
        {
            "id": e["id"],
            "device": e["device"],
            "seq": e["seq"],
            "type": e["type"],
            "round_id": round_id,
            "district_id": district_id,
            "at": datetime.fromisoformat(e["at"]),
            "received_at": received_at,
            "status": "accepted",
            "payload": dict(e),
        }
        for e in events
    ]


def measure_baseline(engine: Engine, rows: list[dict[str, Any]]) -> float:
    """Insert the rows with one executemany, delete them again; return the insert's seconds."""
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(Event), rows)
    seconds = time.perf_counter() - started
    with engine.begin() as connection:
        connection.execute(delete(Event))
    return seconds


def measure_service(
    engine: Engine, stream: Sequence[Mapping[str, Any]], *, batch: int = SERVICE_BATCH
) -> tuple[float, Counter[str]]:
    """Ingest the stream through `ingest_events` in batches; return seconds and answer counts.

    Configured as `tongxin screening ingest` runs it: with the background WAL checkpointer
    on SQLite and the cyclic collector spaced out (`bulk.relaxed_gc`).
    """
    from tongxin.screening.bulk import relaxed_gc
    from tongxin.screening.ledger import ingest_events

    factory = make_sessionmaker(engine)
    answers: Counter[str] = Counter()
    started = time.perf_counter()
    with WalCheckpointer(engine), relaxed_gc():
        for i in range(0, len(stream), batch):
            with session_scope(factory) as session:
                for answer in ingest_events(
                    session, events=stream[i : i + batch], received_at=datetime.now(UTC)
                ):
                    answers[answer.status] += 1
    return time.perf_counter() - started, answers


def device_batches(
    stream: Sequence[Mapping[str, Any]], *, batch: int = BATCH
) -> list[dict[str, list[tuple[bytes, int]]]]:
    """Split a stream by stage, then by device, into JSON-encoded batches in device order.

    Bodies are encoded before the clock starts: a device has its queue ready to send, and
    the client's own encoding would otherwise compete with the server for the same 2 cores.
    """
    stages: dict[str, dict[str, list[Mapping[str, Any]]]] = {
        stage: defaultdict(list) for stage in STAGE_ORDER
    }
    for e in stream:
        stages[STAGES[e["type"]]][e["device"]].append(e)
    return [
        {
            device: [
                (json.dumps(list(events[i : i + batch])).encode(), len(events[i : i + batch]))
                for i in range(0, len(events), batch)
            ]
            for device, events in stages[stage].items()
        }
        for stage in STAGE_ORDER
    ]


def send_stream(
    base_url: str,
    stream: Sequence[Mapping[str, Any]],
    tokens: Mapping[str, str],
    *,
    clients: int = 4,
    batch: int = BATCH,
) -> tuple[float, Counter[str]]:
    """POST the stream stage by stage, devices spread over `clients` keep-alive clients."""
    answers: Counter[str] = Counter()
    stages = device_batches(stream, batch=batch)
    Work = list[tuple[str, list[tuple[bytes, int]]]]

    def work(devices: Work) -> Counter[str]:
        counted: Counter[str] = Counter()
        with httpx.Client(base_url=base_url, timeout=120.0) as client:
            for device, batches in devices:
                for body, sent in batches:
                    for answer in post_body(client, token=tokens[device], body=body, sent=sent):
                        counted[answer["status"]] += 1
        return counted

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for stage in stages:
            shares: list[Work] = [[] for _ in range(clients)]
            for n, item in enumerate(sorted(stage.items())):
                shares[n % clients].append(item)
            for counted in pool.map(work, [s for s in shares if s]):
                answers.update(counted)
    return time.perf_counter() - started, answers


async def _offer_singles(
    base_url: str, items: Sequence[tuple[str, Mapping[str, Any]]], *, rps: float
) -> tuple[list[float], Counter[str]]:
    loop = asyncio.get_running_loop()
    statuses: Counter[str] = Counter()
    url = httpx.URL(base_url)
    pool = KeepAlivePool(url.host, url.port or 80, size=64)
    await pool.open()
    start = loop.time() + 0.2

    async def one(i: int, token: str, event: Mapping[str, Any]) -> float:
        due = start + i / rps
        await asyncio.sleep(max(0.0, due - loop.time()))
        status, body = await pool.request(
            "POST",
            CAPTURE_PATH,
            body=json.dumps([event]).encode(),
            headers={"Authorization": f"Bearer {token}"},
        )
        if status != 200:
            raise RuntimeError(f"capture answered {status}: {body[:200]!r}")
        statuses[json.loads(body)["results"][0]["status"]] += 1
        return loop.time() - due

    try:
        latencies = await asyncio.gather(*(one(i, t, e) for i, (t, e) in enumerate(items)))
    finally:
        await pool.close()
    return list(latencies), statuses


def measure_singles(
    base_url: str,
    stream: Sequence[Mapping[str, Any]],
    tokens: Mapping[str, str],
    *,
    rps: float,
    seconds: float,
) -> dict[str, Any]:
    """Offer single-swab requests at `rps` for `seconds`; return latency figures in ms."""
    swabs = [e for e in stream if e["type"] == "swab_taken"][: int(rps * seconds)]
    items = [(tokens[e["device"]], e) for e in swabs]
    latencies, statuses = asyncio.run(_offer_singles(base_url, items, rps=rps))
    return {
        "single_requests": len(latencies),
        "single_p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "single_p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "single_max_ms": round(max(latencies) * 1000, 1),
        "single_statuses": dict(statuses),
    }


def run_ingest_bench(
    *,
    events: int,
    engine_name: str = "sqlite",
    database_url: str | None = None,
    workers: Sequence[int] = (1, 2),
    clients: int = 4,
    single_rps: float = 500.0,
    single_seconds: float = 4.0,
    seed: int = 20220923,
    step: Step = lambda _msg: None,
) -> dict[str, Any]:
    """Run every path of the ingest benchmark and return its JSON line."""
    now = datetime.now(UTC)
    with temporary_database(engine_name, database_url) as engine:
        url = engine.url.render_as_string(hide_password=False)
        residents = max(1000, math.ceil(events / EVENTS_PER_PERSON * 1.1))
        step(f"building a district of {residents} residents")
        build_district(engine, residents=residents, seed=seed)

        step("setting up round S (service path) and simulating it")
        service_round, service_stream = stream_for(
            engine, code="S", events=events, seed=seed, now=now
        )
        district_id = _district_of(engine, service_round.round_id)
        rows = event_rows(
            service_stream,
            round_id=service_round.round_id,
            district_id=district_id,
            received_at=now,
        )
        # The bench holds whole streams in memory; the server it stands for does not. Keep
        # them out of the cyclic collector's full passes so they do not slow the measured path.
        gc.collect()
        gc.freeze()
        step("baseline: executemany into events")
        baseline_s = measure_baseline(engine, rows)
        step(f"service path: ingest_events in batches of {SERVICE_BATCH}")
        service_s, service_answers = measure_service(engine, service_stream)

        http: dict[int, dict[str, Any]] = {}
        for count in workers:
            h_round, h_stream = stream_for(
                engine, code=f"H{count}", events=events, seed=seed, now=now
            )
            p_round, p_stream = stream_for(
                engine,
                code=f"P{count}",
                events=int(single_rps * single_seconds * 1.3),
                seed=seed,
                now=now,
            )
            # These streams too: the single-event client measures latency, and a full pass of
            # the collector over them in this process would show up as a server stall.
            gc.collect()
            gc.freeze()
            server = Server(database_url=url, workers=count, extra_env=key_env(engine))
            step(f"HTTP path with {count} worker(s)")
            server.start()
            try:
                seconds, answers = send_stream(
                    server.base_url, h_stream, h_round.tokens, clients=clients
                )
                step(f"single events at {single_rps:.0f} requests/s with {count} worker(s)")
                singles = measure_singles(
                    server.base_url,
                    p_stream,
                    p_round.tokens,
                    rps=single_rps,
                    seconds=single_seconds,
                )
            finally:
                server.stop()
            http[count] = {
                "http_events_per_s": round(len(h_stream) / seconds, 1),
                "http_s": round(seconds, 3),
                "http_statuses": dict(answers),
                **singles,
            }

    baseline_rate = len(rows) / baseline_s
    service_rate = len(service_stream) / service_s
    best = max(http, key=lambda w: http[w]["http_events_per_s"])
    chosen = http[best]
    return {
        "bench": "ingest",
        "engine": engine_name,
        "events": len(service_stream),
        "baseline_rows_per_s": round(baseline_rate, 1),
        "service_events_per_s": round(service_rate, 1),
        "service_ratio": round(service_rate / baseline_rate, 3),
        "http_events_per_s": chosen["http_events_per_s"],
        "http_ratio": round(chosen["http_events_per_s"] / baseline_rate, 3),
        "single_p99_ms": chosen["single_p99_ms"],
        "workers": best,
        "batch": BATCH,
        "service_batch": SERVICE_BATCH,
        "clients": clients,
        "single_offered_rps": single_rps,
        "baseline_s": round(baseline_s, 3),
        "service_s": round(service_s, 3),
        "service_statuses": dict(service_answers),
        "by_workers": {str(w): figures for w, figures in http.items()},
    }


def _district_of(engine: Engine, round_id: int) -> int:
    with session_scope(make_sessionmaker(engine)) as session:
        rnd = session.get(Round, round_id)
        assert rnd is not None
        return rnd.district_id
