"""`tongxin bench city`: a whole round over a demo district, stage by stage, then reconcile.

A demo district of N residents; a round at 10:1 (key groups singly) with one site per
community and one station per 700 present residents; the simulated round with 1 % positive
pools and every member's recall; each stage ingested through `ingest_events` in batches,
one transaction per batch; then `reconcile`. Seconds per stage and in total.
"""

from __future__ import annotations

import gc
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from tongxin.bench.importing import temporary_database
from tongxin.bench.rounds import ROUND_START, BenchRound, setup_round
from tongxin.db import WalCheckpointer, make_sessionmaker, session_scope, settings_of
from tongxin.demo.service import build_district
from tongxin.screening.cli_ledger import BATCH as CLI_INGEST_BATCH
from tongxin.screening.simulate import (
    STAGE_ORDER,
    Event,
    SimulatedRound,
    by_stage,
    simulate_round,
)

Step = Callable[[str], None]

# Events per active station in one commit when no batch size is given. A commit's cost grows
# with the distinct index pages it dirties, and every sampling station writes its own part
# of the station-clustered indexes (its tubes, its residents), so a fixed batch spread over
# 4x the stations dirties nearly 4x the pages per event. Group commit of a server under the
# whole city's load gathers what every station sent meanwhile, so the bench commits a wave
# of about this many events per station (at least the CLI's batch).
EVENTS_PER_STATION_WAVE = 4

_VMSTAT = "/proc/vmstat"
_PROC_IO = "/proc/self/io"


def file_cache_refaults() -> int | None:
    """Pages of files read back in after the kernel evicted them (whole machine; Linux only).

    Some virtual machines reclaim page cache that has sat idle for a minute (DAMON's
    proactive pageout), so a large SQLite file's pages outside SQLite's own cache are read
    from disk again. The count shows how much of that a run met.
    """
    return _kernel_counter(_VMSTAT, "workingset_refault_file", " ")


def bytes_read_by_calls() -> int | None:
    """Bytes this process has asked of read calls so far (`rchar`; Linux only).

    SQLite reads a page from its file (or a sort's temporary file) whenever the page is not
    in its own page cache, so the growth of this count over a stage shows how far that
    stage's pages outgrew the cache, even when the kernel serves them from memory. The
    count includes the WAL checkpointer's thread, which reads the log it copies back.
    """
    return _kernel_counter(_PROC_IO, "rchar", ":")


def _kernel_counter(path: str, counter: str, separator: str) -> int | None:
    """One counter of a /proc file of `name<separator>value` lines; None if it is not there."""
    try:
        with open(path, encoding="ascii") as stats:
            for line in stats:
                name, _, value = line.partition(separator)
                if name == counter:
                    return int(value)
    except OSError:
        return None
    return None


def sqlite_writer_cache_mb(engine: Engine) -> int | None:
    """The page cache the ledger's writing connection takes, in MB (None on PostgreSQL)."""
    settings = settings_of(engine.dialect)
    if engine.dialect.name != "sqlite" or settings is None:
        return None
    return settings.sqlite_writer_cache_mb


def sqlite_cache_mb(engine: Engine) -> int | None:
    """The page cache of this engine's SQLite connections in MB (None on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        size = int(conn.execute(text("PRAGMA cache_size")).scalar_one())
        page = int(conn.execute(text("PRAGMA page_size")).scalar_one())
    # Negative sizes are KiB, positive ones pages (SQLite's convention).
    return -size // 1024 if size < 0 else size * page // (1024 * 1024)


def wave_size(stations: int) -> int:
    """Events per commit when no batch is given: a wave from every station (see above)."""
    return max(CLI_INGEST_BATCH, EVENTS_PER_STATION_WAVE * stations)


@dataclass
class SimulatedCity:
    """A built district with its round set up and the round's events split by stage."""

    bench_round: BenchRound
    sim: SimulatedRound
    stages: dict[str, list[Event]]


def _untimed(_stage: str) -> AbstractContextManager[None]:
    return nullcontext()


def simulate_city(
    engine: Engine,
    *,
    people: int,
    seed: int,
    positive_rate: float,
    timed: Callable[[str], AbstractContextManager[None]] = _untimed,
    step: Step = lambda _msg: None,
) -> SimulatedCity:
    """Build a demo district of `people`, set up its round and simulate the round's events."""
    step(f"build: demo district of {people} residents")
    with timed("build"):
        build_district(engine, residents=people, seed=seed)

    step("setup: round, sites, stations, tubes")
    with timed("setup"):
        rng = Random(seed)
        bench_round = setup_round(
            engine, rng=rng, now=datetime.now(UTC), positive_rate=positive_rate
        )

    step("simulate: the round's event stream")
    with timed("simulate"):
        sim = simulate_round(bench_round.facts, rng)
        stages = by_stage(sim.events)
    return SimulatedCity(bench_round, sim, stages)


def run_city_bench(
    *,
    people: int,
    engine_name: str = "sqlite",
    database_url: str | None = None,
    batch: int | None = None,
    seed: int = 20220923,
    positive_rate: float = 0.01,
    step: Step = lambda _msg: None,
) -> dict[str, Any]:
    """Run the whole-round benchmark and return its JSON line."""
    from tongxin.screening.bulk import relaxed_gc
    from tongxin.screening.ledger import ingest_events
    from tongxin.screening.reconcile import reconcile

    seconds: dict[str, float] = {}
    # Processor time per stage (this process, every thread): on a shared machine wall time
    # also counts waiting for a core, processor time does not.
    cpu: dict[str, float] = {}
    # MB asked of read calls per stage (SQLite only: on PostgreSQL the server reads).
    read_mb: dict[str, float] = {}
    count_reads = engine_name == "sqlite"

    @contextmanager
    def timed(stage: str) -> Iterator[None]:
        clock, cpu_clock = time.perf_counter(), time.process_time()
        read_before = bytes_read_by_calls() if count_reads else None
        yield
        seconds[stage] = time.perf_counter() - clock
        cpu[stage] = time.process_time() - cpu_clock
        read_after = bytes_read_by_calls() if read_before is not None else None
        if read_before is not None and read_after is not None:
            read_mb[stage] = (read_after - read_before) / (1024 * 1024)

    statuses: Counter[str] = Counter()
    load_before = os.getloadavg()[0]
    refaults_before = file_cache_refaults()
    # The build and the simulator allocate millions of long-lived objects too: space the
    # collector's passes over them as ingest does (`relaxed_gc`).
    with temporary_database(engine_name, database_url) as engine, relaxed_gc():
        cache_mb = sqlite_cache_mb(engine)
        writer_cache_mb = sqlite_writer_cache_mb(engine)
        city = simulate_city(
            engine,
            people=people,
            seed=seed,
            positive_rate=positive_rate,
            timed=timed,
            step=step,
        )
        bench_round, sim, stages = city.bench_round, city.sim, city.stages
        if batch is None:
            batch = wave_size(len(bench_round.facts.stations))

        # The simulated stream stays in memory; keep it out of the cyclic collector's passes.
        gc.collect()
        gc.freeze()
        factory = make_sessionmaker(engine)
        with WalCheckpointer(engine):
            for stage in STAGE_ORDER:
                events = stages[stage]
                step(f"{stage}: {len(events)} events")
                with timed(stage):
                    for i in range(0, len(events), batch):
                        with session_scope(factory) as session:
                            received = datetime.now(UTC)
                            for answer in ingest_events(
                                session, events=events[i : i + batch], received_at=received
                            ):
                                statuses[answer.status] += 1

        step("reconcile")
        with timed("reconcile"), session_scope(factory) as session:
            result = reconcile(
                session, round_id=bench_round.round_id, now=ROUND_START + timedelta(hours=48)
            )

    counts = result.counts()
    refaults_after = file_cache_refaults()
    ingest_s = sum(seconds[s] for s in STAGE_ORDER)
    return {
        "bench": "city",
        "engine": engine_name,
        "people": people,
        "events": len(sim.events),
        "stations": len(bench_round.facts.stations),
        "batch": batch,
        "people_sampled": counts["people_sampled"],
        "expected_people": sim.people,
        "tubes": len(sim.tubes),
        "boxes": len(sim.boxes),
        "positive_tubes": len(sim.positive_tubes),
        "recalls": sim.recalls,
        "statuses": dict(statuses),
        "mismatches": len(result.mismatches),
        "counts": counts,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "ingest_s": round(ingest_s, 2),
        "ingest_events_per_s": round(len(sim.events) / ingest_s, 1),
        "total_s": round(sum(seconds.values()), 2),
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "cpu_total_s": round(sum(cpu.values()), 2),
        "read_mb": {k: round(v, 1) for k, v in read_mb.items()} if read_mb else None,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "sqlite_cache_mb": cache_mb,
        "sqlite_writer_cache_mb": writer_cache_mb,
        "file_pages_refaulted": (
            None
            if refaults_before is None or refaults_after is None
            else refaults_after - refaults_before
        ),
    }
