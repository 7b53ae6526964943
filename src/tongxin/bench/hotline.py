"""`tongxin bench hotline`: intake and the supervisor board at a million stored cases.

A scratch district (10 streets of 10 communities, 101 hotlines as in the seed district) is
filled with N generated cases by Core inserts, about 3 % of them still open. Then:

- intake: `take_call` (jieba suggestion, routing, case, timeline, one commit per call)
  against the baseline of one plain `INSERT` of a case row and a commit per call;
- board: the supervisor board through the app (`GET /hotline/board`, signed in, rendered)
  for several filters and the next page, and the same first page as one raw SQL query.

It prints one JSON line. Benchmarks are never tests and gate nothing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from tongxin.accounts.models import User
from tongxin.db import make_sessionmaker, session_scope, settings_of
from tongxin.hotline.models import Hotline, HotlineCase
from tongxin.hotline.rules import Category, Urgency
from tongxin.hotline.schemas import IntakeIn
from tongxin.hotline.service import add_hotline, take_call
from tongxin.registry.models import Area
from tongxin.registry.queries import Scope
from tongxin.registry.rules import AreaLevel
from tongxin.registry.service import add_area

if TYPE_CHECKING:
    import psycopg

NOW = datetime(2022, 9, 30, 4, 0, tzinfo=UTC)
HOURS = {Urgency.CRITICAL: 2.0, Urgency.URGENT: 12.0, Urgency.NORMAL: 72.0}
OPEN_SHARE = 0.03
BATCH = 10_000
DESCRIPTIONS = [
    "家里老人降压药吃完了",
    "小区封控买不到菜",
    "孩子发烧39度需要去医院",
    "情绪低落睡不着",
    "楼道的灯坏了",
    "出小区需要什么证明",
    "健康码变黄了怎么办",
    "独居老人两天没出门联系不上",
]


@dataclass(frozen=True)
class District:
    """Ids of the scratch district's areas and hotlines."""

    district_id: int
    streets: list[int]
    communities: list[tuple[int, int]]  # (community id, street id)
    hotlines: list[int]
    hotline_codes: list[str]


def build_district(engine: Engine, password_hash: str) -> District:
    """Create the district, its hotlines and a district supervisor and an operator."""
    with session_scope(make_sessionmaker(engine)) as s:
        d = add_area(s, code="520113", name="白云区", level=AreaLevel.DISTRICT)
        streets, communities = [], []
        for i in range(10):
            st = add_area(
                s, code=f"520113{i:03d}", name=f"第{i + 1}街道", level=AreaLevel.STREET, parent=d
            )
            streets.append(st)
            for j in range(10):
                c = add_area(
                    s,
                    code=f"{st.code}{j:03d}",
                    name=f"第{i + 1}街道第{j + 1}社区",
                    level=AreaLevel.COMMUNITY,
                    parent=st,
                )
                communities.append((c, st))
        for username, role in (
            ("bench-sup", "hotline_supervisor"),
            ("bench-op", "hotline_operator"),
        ):
            s.add(
                User(
                    username=username,
                    display_name=username,
                    password_hash=password_hash,
                    role=role,
                    jurisdiction_id=d.id,
                    is_active=True,
                    created_at=NOW,
                )
            )
        hotlines = [
            add_hotline(
                s,
                code=f"HL-{k:03d}",
                name=f"热线{k}",
                number=f"0851-86{k:06d}",
                organisation=area.name,
                jurisdiction=area,
                hours="24小时",
            )
            for k, area in enumerate([d] + [c for c, _ in communities])
        ]
        return District(
            d.id,
            [st.id for st in streets],
            [(c.id, st.id) for c, st in communities],
            [h.id for h in hotlines],
            [h.code for h in hotlines],
        )


def _case_rows(district: District, start: int, count: int, rng: Random) -> list[dict[str, Any]]:
    rows = []
    categories = list(Category)
    urgencies = [Urgency.CRITICAL, Urgency.URGENT, Urgency.URGENT, Urgency.NORMAL, Urgency.NORMAL]
    for n in range(start, start + count):
        community, street = district.communities[rng.randrange(len(district.communities))]
        urgency = urgencies[rng.randrange(len(urgencies))]
        opened = NOW - timedelta(minutes=rng.randrange(60 * 24 * 60))
        due = opened + timedelta(hours=HOURS[urgency])
        is_open = rng.random() < OPEN_SHARE
        state = rng.choice(("new", "assigned", "in_progress")) if is_open else "closed"
        resolved = None if is_open else opened + timedelta(minutes=rng.randrange(30, 60 * 72))
        category = categories[rng.randrange(len(categories))].value
        rows.append(
            {
                "code": f"RX{n:010X}",
                "client_request_id": None,
                "hotline_id": district.hotlines[rng.randrange(len(district.hotlines))],
                "caller_phone": f"139{rng.randrange(10**8):08d}",
                "caller_name": "来电人",
                "address": "",
                "resident_id": None,
                "category": category,
                "urgency": urgency.value,
                "suggested_category": category,
                "suggested_urgency": urgency.value,
                "description": DESCRIPTIONS[n % len(DESCRIPTIONS)],
                "state": state,
                "responsible_area_id": community,
                "district_id": district.district_id,
                "street_id": street,
                "community_id": community,
                "desk": None,
                "operator_id": None,
                "opened_at": opened,
                "due_at": due,
                "open_due_at": due if is_open else None,
                "resolved_at": resolved,
                "callback_confirmed_at": resolved,
                "closed_at": resolved,
                "escalated_at": None,
                "calls": 1,
            }
        )
    return rows


def fill_cases(
    engine: Engine, district: District, cases: int, *, step: Callable[[int], None]
) -> float:
    """Insert `cases` generated cases in batches; return the seconds it took."""
    rng = Random(20220923)
    started = time.perf_counter()
    for start in range(0, cases, BATCH):
        rows = _case_rows(district, start, min(BATCH, cases - start), rng)
        if engine.dialect.name == "postgresql":
            _copy(engine, rows)
        else:
            with engine.begin() as connection:
                connection.execute(insert(HotlineCase), rows)
        step(start + len(rows))
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a million inserts: without the visibility map every
        # index-only count (the board's per-state counts) visits the heap, ten times slower.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE hotline_cases"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def _copy(engine: Engine, rows: list[dict[str, Any]]) -> None:
    # COPY on PostgreSQL: multi-row inserts ran at about 1,000 cases a second on the shared
    # machine, so a million would take a quarter of an hour before anything was timed.
    columns = list(rows[0])
    raw = engine.raw_connection()
    try:
        # Only called on PostgreSQL, whose driver connection is psycopg 3's (cursor.copy()).
        driver = cast("psycopg.Connection[Any]", raw.driver_connection)
        with driver.cursor() as cursor:
            statement = f"COPY hotline_cases ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
        raw.commit()
    finally:
        raw.close()


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2)


@contextmanager
def _timer(samples: list[float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    samples.append(time.perf_counter() - started)


def time_intake(engine: Engine, district: District, calls: int) -> dict[str, float]:
    """Time `take_call` one commit per call, then the raw single-row insert baseline."""
    factory = make_sessionmaker(engine)
    with session_scope(factory) as s:
        operator = s.scalar(select(User).where(User.username == "bench-op"))
        assert operator is not None
        operator_id = operator.id
    # Load the segmenter before timing: a server does it once per process.
    from tongxin.hotline.classify import tokenizer

    tokenizer()
    intake_s: list[float] = []
    for n in range(calls):
        with _timer(intake_s), session_scope(factory) as s:
            user = s.get(User, operator_id)
            assert user is not None
            take_call(
                s,
                intake=IntakeIn(
                    hotline=district.hotline_codes[n % len(district.hotline_codes)],
                    caller_phone=f"137{n:08d}",
                    description=DESCRIPTIONS[n % len(DESCRIPTIONS)],
                    client_request_id=f"bench-{n}",
                ),
                user=user,
                scope=Scope.everything(),
                now=NOW,
                deadlines=HOURS,
            )
    baseline_s: list[float] = []
    rng = Random(7)
    rows = _case_rows(district, 10**9, calls, rng)
    for row in rows:
        with _timer(baseline_s), engine.begin() as connection:
            connection.execute(insert(HotlineCase), [row])
    return {
        "intake_calls": calls,
        "intake_median_ms": _median_ms(intake_s),
        "intake_p95_ms": _p95_ms(intake_s),
        "baseline_insert_median_ms": _median_ms(baseline_s),
        "intake_ratio": round(statistics.median(intake_s) / statistics.median(baseline_s), 2),
    }


def time_board(app: Any, engine: Engine, district: District, repeats: int) -> dict[str, Any]:
    """Time board pages through the app and the raw first-page query."""
    from fastapi.testclient import TestClient

    street = district.streets[3]
    community = district.communities[42][0]
    with session_scope(make_sessionmaker(engine)) as s:
        street_code = s.scalar(select(Area.code).where(Area.id == street))
        community_code = s.scalar(select(Area.code).where(Area.id == community))
        hotline_code = s.scalar(select(Hotline.code).where(Hotline.id == district.hotlines[17]))
    pages = {
        "open_overdue_first": "/hotline/board",
        "street": f"/hotline/board?area={street_code}",
        "community": f"/hotline/board?area={community_code}",
        "category": "/hotline/board?category=medical",
        "hotline": f"/hotline/board?hotline={hotline_code}",
        "in_progress": "/hotline/board?state=in_progress",
        "closed": "/hotline/board?state=closed",
    }
    timings: dict[str, list[float]] = {name: [] for name in pages}
    timings["next_page"] = []
    with TestClient(app) as client:
        token = client.get("/login").text
        from tongxin.web.csrf import token_in_page

        answer = client.post(
            "/login",
            data={
                "username": "bench-sup",
                "password": "bench-password-1",
                "csrf_token": token_in_page(token),
            },
            follow_redirects=False,
        )
        if answer.status_code != 303:
            raise RuntimeError(f"bench sign-in failed: {answer.status_code}")
        first = client.get(pages["open_overdue_first"])
        next_link = _next_link(first.text)
        for _ in range(repeats):
            for name, url in pages.items():
                with _timer(timings[name]):
                    got = client.get(url)
                if got.status_code != 200:
                    raise RuntimeError(f"{url} answered {got.status_code}")
            if next_link:
                with _timer(timings["next_page"]):
                    client.get(next_link)
    raw: list[float] = []
    query = text(
        "SELECT * FROM hotline_cases WHERE open_due_at IS NOT NULL "
        "ORDER BY open_due_at, id LIMIT 51"
    )
    with engine.connect() as connection:
        for _ in range(repeats):
            with _timer(raw):
                connection.execute(query).all()
    every = [t for samples in timings.values() for t in samples]
    return {
        "board_pages": {name: _median_ms(samples) for name, samples in timings.items() if samples},
        "board_median_ms": _median_ms(every),
        "board_p95_ms": _p95_ms(every),
        "baseline_board_sql_median_ms": _median_ms(raw),
    }


def _next_link(html: str) -> str | None:
    marker = 'class="pager"><a href="'
    at = html.find(marker)
    if at < 0:
        return None
    end = html.find('"', at + len(marker))
    return html[at + len(marker) : end].replace("&amp;", "&")


def run_hotline_bench(
    *,
    cases: int,
    calls: int,
    repeats: int,
    engine_name: str,
    database_url: str | None,
    step: Callable[[str], None],
) -> dict[str, Any]:
    """Build the scratch district, fill it, time intake and the board; return the JSON line."""
    from argon2 import PasswordHasher

    from tongxin.bench.importing import temporary_database
    from tongxin.web.app import create_app

    password_hash = PasswordHasher().hash("bench-password-1")
    with temporary_database(engine_name, database_url) as engine:
        district = build_district(engine, password_hash)
        step(f"filling {cases} cases")
        fill_s = fill_cases(
            engine,
            district,
            cases,
            step=lambda done: step(f"{done} cases") if done % 100_000 == 0 else None,
        )
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM hotline_cases")).scalar_one()
            still_open = connection.execute(
                text("SELECT count(*) FROM hotline_cases WHERE open_due_at IS NOT NULL")
            ).scalar_one()
        step("timing intake")
        intake = time_intake(engine, district, calls)
        step("timing the board")
        settings = settings_of(engine.dialect)
        assert settings is not None
        board = time_board(create_app(settings, engine=engine), engine, district, repeats)
        return {
            "bench": "hotline",
            "engine": engine.dialect.name,
            "cases": int(stored),
            "open_cases": int(still_open),
            "fill_s": round(fill_s, 1),
            "fill_rows_per_s": round(cases / fill_s) if fill_s else None,
            **intake,
            **board,
            "board_under_200_ms": board["board_median_ms"] < 200,
        }
