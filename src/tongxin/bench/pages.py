"""`tongxin bench pages`: time the resident list of the largest community through the app.

The figures come from real HTTP requests through the ASGI app (FastAPI's TestClient, signed in
as the demo admin), so routing, the session cookie, the queries and the template all count.
The raw baseline runs the same page's SQL (keyset page plus count) directly on the engine in
the same run, so the ratio survives a noisy machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from tongxin.db import make_engine
from tongxin.settings import Settings

REQUESTS = 20
WARMUP = 2
DEFAULT_DIR = Path("var")

Step = Callable[[str], None]


class BenchError(ValueError):
    """The bench cannot run as asked; the message says what to change."""


def default_database_url(residents: int) -> str:
    """Return the SQLite file the bench builds into when no URL is given."""
    return f"sqlite:///{DEFAULT_DIR / f'bench-pages-{residents}.db'}"


@dataclass(frozen=True)
class Timing:
    """Milliseconds of repeated requests."""

    samples: list[float]

    @property
    def median(self) -> float:
        return round(statistics.median(self.samples), 2)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 2)


def _time(call: Callable[[], object], repeat: int) -> Timing:
    for _ in range(WARMUP):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(samples)


def prepare_database(
    settings: Settings, *, residents: int, seed: int, reuse: bool, replace: bool, step: Step
) -> float | None:
    """Make sure the database holds a demo district of `residents`; return build seconds."""
    from tongxin import migrate
    from tongxin.demo import service
    from tongxin.demo.cli import run_build
    from tongxin.registry.models import Resident

    path = settings.sqlite_path()
    owned = settings.database_url == default_database_url(residents)
    if path is not None and owned and path.exists() and not reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            built = service.has_district(connection)
            count = connection.scalar(select(func.count()).select_from(Resident)) if built else 0
    finally:
        engine.dispose()
    if built and reuse:
        if count != residents:
            raise BenchError(f"the database holds {count} residents, not {residents}")
        step(f"reusing the demo district of {count} residents")
        return None
    if built and not replace:
        raise BenchError("the database already holds a district: pass --reuse or --replace")
    step(f"building a demo district of {residents} residents")
    summary, _ = run_build(
        settings, residents=residents, seed=seed, replace=built, with_round=False
    )
    return summary.seconds


def largest_community(engine: Engine) -> tuple[int, str, int]:
    """Return (id, code, residents) of the community with the most residents."""
    from tongxin.registry.models import Area, Resident

    with engine.connect() as connection:
        community_id, size = connection.execute(
            select(Resident.community_id, func.count().label("n"))
            .group_by(Resident.community_id)
            .order_by(func.count().desc(), Resident.community_id)
            .limit(1)
        ).one()
        code = connection.scalar(select(Area.code).where(Area.id == community_id))
    return int(community_id), str(code), int(size)


def _phone_tail_in(engine: Engine, community_id: int) -> str:
    """Pick a phone suffix that somebody in the community has (a mid-list resident's)."""
    with engine.connect() as connection:
        tails = list(
            connection.scalars(
                text(
                    "SELECT phone_tail FROM residents WHERE community_id = :c "
                    "AND phone_tail IS NOT NULL ORDER BY id LIMIT 1 OFFSET 1000"
                ),
                {"c": community_id},
            )
        ) or list(
            connection.scalars(
                text(
                    "SELECT phone_tail FROM residents WHERE community_id = :c "
                    "AND phone_tail IS NOT NULL ORDER BY id LIMIT 1"
                ),
                {"c": community_id},
            )
        )
    if not tails:
        raise BenchError("nobody in the largest community has a phone number")
    return str(tails[0])


# The SQL one resident-list page runs, written by hand: a keyset page and the total.
# `{extra}` is only ever one of the fixed clauses in this module; values are bound (:c, :tail).
_BASELINE_PAGE = "SELECT * FROM residents WHERE community_id = :c {extra} ORDER BY id LIMIT :limit"
_BASELINE_COUNT = "SELECT count(*) FROM residents WHERE community_id = :c {extra}"


def _baseline(engine: Engine, community_id: int, limit: int, phone_tail: str | None) -> Timing:
    extra = "AND phone_tail = :tail" if phone_tail else ""
    params: dict[str, Any] = {"c": community_id, "limit": limit + 1, "tail": phone_tail}
    page = text(_BASELINE_PAGE.format(extra=extra))
    count = text(_BASELINE_COUNT.format(extra=extra))
    with engine.connect() as connection:

        def run() -> None:
            connection.execute(page, params).all()
            connection.scalar(count, params)

        return _time(run, REQUESTS)


def query_plans(engine: Engine, community_id: int, phone_tail: str) -> dict[str, str]:
    """Return the engine's plan for the list page and the phone search (for the report)."""
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    out = {}
    with engine.connect() as connection:
        for name, extra in (("list", ""), ("phone_search", "AND phone_tail = :tail")):
            params = {"c": community_id, "limit": 51, "tail": phone_tail}
            lines = []
            for sql in (_BASELINE_PAGE, _BASELINE_COUNT):
                rows = connection.execute(text(explain + sql.format(extra=extra)), params).all()
                lines.append(" | ".join(str(r[-1]) for r in rows))
            out[name] = " || ".join(lines)
    return out


def run_pages_bench(
    *,
    residents: int,
    seed: int,
    database_url: str | None = None,
    reuse: bool = False,
    replace: bool = False,
    explain: bool = False,
    step: Step = lambda _message: None,
) -> dict[str, Any]:
    """Build or reuse a demo district and time its largest community's resident list."""
    try:
        from fastapi.testclient import TestClient
    except RuntimeError as exc:  # pragma: no cover - httpx is a dev dependency
        raise BenchError(f"the pages bench needs the dev dependencies: {exc}") from None
    from tongxin.demo.service import DEMO_LOGINS
    from tongxin.web.app import create_app
    from tongxin.web.csrf import token_in_page

    settings = Settings(database_url=database_url or default_database_url(residents))
    build_s = prepare_database(
        settings, residents=residents, seed=seed, reuse=reuse, replace=replace, step=step
    )
    engine = make_engine(settings)
    try:
        community_id, code, size = largest_community(engine)
        tail = _phone_tail_in(engine, community_id)
        admin = next(login for login in DEMO_LOGINS if login.username == "admin")
        step(f"timing {REQUESTS} requests per page on community {code} ({size} residents)")
        with TestClient(create_app(settings, engine=engine)) as client:
            token = token_in_page(client.get("/login").text) or ""
            signed_in = client.post(
                "/login",
                data={"username": admin.username, "password": admin.password, "csrf_token": token},
                follow_redirects=False,
            )
            if signed_in.status_code != 303:
                raise BenchError(f"sign-in as {admin.username} answered {signed_in.status_code}")

            def get(url: str, params: dict[str, str]) -> Callable[[], object]:
                def call() -> object:
                    response = client.get(url, params=params)
                    if response.status_code != 200:
                        raise BenchError(f"GET {url} {params} answered {response.status_code}")
                    return response

                return call

            listing = {"area": code}
            phone = {"area": code, "phone": tail}
            api_page = client.get("/api/v1/residents", params=listing).json()
            api_phone = client.get("/api/v1/residents", params=phone).json()
            timings = {
                "list": _time(get("/residents", listing), REQUESTS),
                "phone_search": _time(get("/residents", phone), REQUESTS),
                "api_list": _time(get("/api/v1/residents", listing), REQUESTS),
                "api_phone_search": _time(get("/api/v1/residents", phone), REQUESTS),
            }
        timings["baseline_list"] = _baseline(engine, community_id, settings.page_size, None)
        timings["baseline_phone_search"] = _baseline(engine, community_id, settings.page_size, tail)
        plans = query_plans(engine, community_id, tail) if explain else None
    finally:
        engine.dispose()

    line: dict[str, Any] = {
        "bench": "pages",
        "engine": engine.dialect.name,
        "residents": residents,
        "community": code,
        "community_residents": size,
        "phone_suffix": tail,
        "page_rows": len(api_page.get("items", [])),
        "phone_matches": api_phone.get("total"),
        "requests": REQUESTS,
        "build_s": build_s,
    }
    for name, timing in timings.items():
        line[f"{name}_median_ms"] = timing.median
        line[f"{name}_p95_ms"] = timing.p95
    for name in ("list", "phone_search"):
        base = timings[f"baseline_{name}"].median
        line[f"{name}_ratio"] = round(timings[name].median / base, 1) if base else None
    if plans is not None:
        line["plans"] = plans
    return line
