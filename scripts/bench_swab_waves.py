"""Paired experiment on `bench city`'s swab stage: one city, several modes taken in turn.

    PYTHONPATH=src .venv/bin/python scripts/bench_swab_waves.py PEOPLE WAVES MODE[,MODE...]

Builds a demo district of PEOPLE residents, sets up and simulates the round with
`tongxin bench city`'s own `simulate_city` (same seed, same waves of 4 events per station),
then for each mode copies the saved database and ingests the first WAVES swab waves into
the copy. Modes:

- `cache:MB` in this process, with an SQLite page cache of MB;
- `fresh` in a new process that loads only those waves (pickled, in wave order) and uses
  the default cache: no district build, no simulation, no scattered heap behind it.

Prints one JSON line per mode with wall and processor µs per swab event and a split of the
wave's wall time (µs per event): `_parse` (pydantic), `load_state`, `seal_event_payloads`,
`insert_rows` (the events), `write_state` (projections), `_decide_and_store` (which holds the
four before it plus the decisions), and the commit. Used for the trials in
docs/benchmarks.md; it is an experiment, not a benchmark the issue names, and not a test.
Take modes in turn (A,B,A,B): this machine's speed drifts by more than the effects sought.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

import tongxin.screening.ledger as ledger
from tongxin import migrate
from tongxin.bench.city import simulate_city, wave_size
from tongxin.db import WalCheckpointer, make_engine, make_sessionmaker, session_scope
from tongxin.privacy.keys import scratch_settings
from tongxin.screening.bulk import relaxed_gc
from tongxin.settings import Settings

SEED = 20220923
PHASES: defaultdict[str, float] = defaultdict(float)


def _timed(name: str) -> None:
    inner = getattr(ledger, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        clock = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            PHASES[name] += time.perf_counter() - clock

    setattr(ledger, name, wrapper)


def time_the_phases() -> None:
    """Wrap the ledger's phases once, so that `PHASES` adds up their wall time."""
    for name in (
        "_parse",
        "load_state",
        "seal_event_payloads",
        "insert_rows",
        "write_state",
        "_decide_and_store",
    ):
        _timed(name)


def ingest_waves(settings: Settings, events: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    """Ingest `events` in waves of `batch` into the settings' database; µs per event."""
    PHASES.clear()
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    wall, cpu = time.perf_counter(), time.process_time()
    with WalCheckpointer(engine):
        for i in range(0, len(events), batch):
            start = time.perf_counter()
            with session_scope(factory) as session:
                answers = ledger.ingest_events(
                    session, events=events[i : i + batch], received_at=datetime.now(UTC)
                )
                bad = [a for a in answers if a.status != "accepted"]
                if bad:
                    raise SystemExit(f"not accepted: {bad[0]}")
                committing = time.perf_counter()
            PHASES["commit"] += time.perf_counter() - committing
            PHASES["wave"] += time.perf_counter() - start
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    engine.dispose()
    n = len(events)
    return {
        "wall_us": round(wall / n * 1e6, 1),
        "cpu_us": round(cpu / n * 1e6, 1),
        "phases_us": {k: round(v / n * 1e6, 1) for k, v in PHASES.items()},
    }


def child(settings_json: str, stream: str, batch: int) -> None:
    settings = Settings.model_validate_json(settings_json)
    with open(stream, "rb") as f:
        events = pickle.load(f)
    gc.collect()
    gc.freeze()
    time_the_phases()
    with relaxed_gc():
        print(json.dumps(ingest_waves(settings, events, batch)))


def main(people: int, waves: int, modes: list[str]) -> None:
    folder = tempfile.mkdtemp(prefix="swab-waves-", dir=os.environ.get("TMPDIR", "/tmp"))
    base = f"{folder}/base.db"
    settings = scratch_settings(f"sqlite:///{base}")
    time_the_phases()
    try:
        with relaxed_gc():
            engine = make_engine(settings)
            migrate.upgrade(engine)
            clock = time.perf_counter()
            city = simulate_city(engine, people=people, seed=SEED, positive_rate=0.01)
            build_s = round(time.perf_counter() - clock, 1)
            bench_round, swabs = city.bench_round, city.stages["swabs"]
            batch = wave_size(len(bench_round.facts.stations))
            with engine.begin() as conn:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            engine.dispose()
            n = min(len(swabs), waves * batch)
            stream = f"{folder}/swabs.pickle"
            with open(stream, "wb") as f:
                pickle.dump(swabs[:n], f, protocol=5)
            gc.collect()
            gc.freeze()
            print(
                f"build, setup and simulate {build_s} s; "
                f"{len(bench_round.facts.stations)} stations; waves of {batch}; {n} swab events",
                file=sys.stderr,
                flush=True,
            )
            for mode in modes:
                run = f"{folder}/run.db"
                shutil.copyfile(base, run)
                url = f"sqlite:///{run}"
                if mode == "fresh":
                    copy = settings.model_copy(update={"database_url": url})
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", str(batch), stream],
                        input=copy.model_dump_json(),
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    line = json.loads(out.stdout.strip().splitlines()[-1])
                else:
                    cache_mb = int(mode.removeprefix("cache:"))
                    copy = settings.model_copy(
                        update={"database_url": url, "sqlite_cache_mb": cache_mb}
                    )
                    # Fresh copies: the ledger may keep references to what it was given.
                    events = [
                        dict(e, person=dict(e["person"])) if "person" in e else dict(e)
                        for e in swabs[:n]
                    ]
                    line = ingest_waves(copy, events, batch)
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(run + suffix):
                        os.remove(run + suffix)
                print(
                    json.dumps(
                        {
                            "people": people,
                            "mode": mode,
                            "events": n,
                            **line,
                            "load": round(os.getloadavg()[0], 2),
                        }
                    ),
                    flush=True,
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        child(sys.stdin.read(), sys.argv[3], int(sys.argv[2]))
    else:
        main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(","))
