"""`tongxin bench import`: the resident import against a plain executemany of the same rows.

Both runs write into the same tables of the same temporary database, in the same process:
(a) `import_residents` on a generated CSV, parsing, validation and inserts included;
(b) the rows (a) wrote, read back and inserted again with one Core executemany per table
(households, residents, residences) after emptying those tables. The ratio (a)/(b) is the
figure that survives a noisy machine.
"""

from __future__ import annotations

import csv
import io
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Engine

from tongxin import migrate
from tongxin.db import make_engine, make_sessionmaker, session_scope
from tongxin.privacy.keys import scratch_settings
from tongxin.registry import rules
from tongxin.registry.importing import import_residents
from tongxin.registry.models import Area, Household, Residence, Resident
from tongxin.registry.rules import AreaLevel, Gender
from tongxin.registry.service import add_area
from tongxin.settings import Settings

TODAY = date(2022, 9, 23)
UNITS_PER_BUILDING = 2
FLOORS = 20
ROOMS_PER_FLOOR = 4
BUILDINGS_PER_COMPOUND = 25
HOUSEHOLD_SIZES = (1, 2, 3, 4, 2, 3)  # 2.5 people on average
HEADER = [
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "手机号",
    "小区",
    "楼栋",
    "单元",
    "房号",
    "户籍地址",
    "卧床",
    "残疾",
    "孕妇",
    "重点人群",
    "无智能手机",
    "状态",
    "状态日期",
]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文"

Step = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class BenchResult:
    """Figures of one run, printed as the benchmark's JSON line."""

    engine: str
    rows: int
    import_seconds: float
    baseline_seconds: float

    def as_json(self) -> dict[str, Any]:
        """Return the JSON line's fields."""
        rate = self.rows / self.import_seconds
        baseline = self.rows / self.baseline_seconds
        return {
            "bench": "import",
            "engine": self.engine,
            "rows": self.rows,
            "rows_per_s": round(rate, 1),
            "baseline_rows_per_s": round(baseline, 1),
            "ratio": round(rate / baseline, 3),
            "import_s": round(self.import_seconds, 3),
            "baseline_s": round(self.baseline_seconds, 3),
        }


def postgres_url_with_schema(base: str, schema: str) -> str:
    """Return a PostgreSQL URL whose connections use `schema` first."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def temporary_database(engine_name: str, database_url: str | None) -> Iterator[Engine]:
    """Yield a migrated engine on a throw-away database: a temp SQLite file or a fresh schema."""
    if engine_name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tongxin-bench-") as folder:
            engine = make_engine(scratch_settings(f"sqlite:///{folder}/bench.db"))
            try:
                migrate.upgrade(engine)
                yield engine
            finally:
                engine.dispose()
        return
    base = database_url or os.environ.get("TONGXIN_TEST_DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        raise ValueError("--engine postgresql needs --database-url or TONGXIN_TEST_DATABASE_URL")
    # A schema name cannot be bound; this one is made here from hex digits only.
    schema = f"tx_bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(Settings(database_url=base))
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(scratch_settings(postgres_url_with_schema(base, schema)))
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@dataclass(frozen=True)
class Place:
    """Where generated residents go: compound, building and unit names, in order."""

    compound: str
    building: str
    unit: str


def build_area_tree(engine: Engine, rows: int) -> tuple[int, list[Place]]:
    """Create a district with enough units for `rows` residents; return the community id."""
    per_building = UNITS_PER_BUILDING * FLOORS * ROOMS_PER_FLOOR * 5 // 2
    buildings = max(1, -(-rows // per_building))
    places: list[Place] = []
    with session_scope(make_sessionmaker(engine)) as session:
        d = add_area(session, code="520113", name="白云区", level=AreaLevel.DISTRICT)
        s = add_area(session, code="520113001", name="泉湖街道", level=AreaLevel.STREET, parent=d)
        c = add_area(
            session, code="520113001001", name="新星社区", level=AreaLevel.COMMUNITY, parent=s
        )
        compound = None
        for b in range(buildings):
            if b % BUILDINGS_PER_COMPOUND == 0:
                n = b // BUILDINGS_PER_COMPOUND + 1
                compound = add_area(
                    session,
                    code=f"{c.code}-{n:02d}",
                    name=f"第{n}小区",
                    level=AreaLevel.COMPOUND,
                    parent=c,
                )
            assert compound is not None
            number = b % BUILDINGS_PER_COMPOUND + 1
            building = add_area(
                session,
                code=f"{compound.code}-{number:02d}",
                name=f"{number}栋",
                level=AreaLevel.BUILDING,
                parent=compound,
            )
            for u in range(1, UNITS_PER_BUILDING + 1):
                add_area(
                    session,
                    code=f"{building.code}-{u}",
                    name=f"{u}单元",
                    level=AreaLevel.UNIT,
                    parent=building,
                )
                places.append(Place(compound.name, building.name, f"{u}单元"))
        return c.id, places


def generate_csv(rows: int, places: list[Place], seed: int = 20220923) -> bytes:
    """Write `rows` valid residents as a UTF-8 CSV in the import template."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    rooms = [
        f"{floor}{room:02d}"
        for floor in range(1, FLOORS + 1)
        for room in range(1, ROOMS_PER_FLOOR + 1)
    ]
    household, left = 0, HOUSEHOLD_SIZES[0]
    first_day = date(1940, 1, 1)
    for i in range(rows):
        if left == 0:
            household += 1
            left = HOUSEHOLD_SIZES[household % len(HOUSEHOLD_SIZES)]
        left -= 1
        place = places[(household // len(rooms)) % len(places)]
        room = rooms[household % len(rooms)]
        born = first_day + timedelta(days=i % 29_000)
        gender = Gender.MALE if rng.random() < 0.5 else Gender.FEMALE
        id_number = rules.make_resident_id("520113", born, 2 * (i // 29_000), gender)
        away = rng.random() < 0.05
        writer.writerow(
            (
                rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
                "男" if gender is Gender.MALE else "女",
                born.isoformat(),
                id_number,
                f"13{i:09d}",
                place.compound,
                place.building,
                place.unit,
                room,
                "贵州省贵阳市白云区",
                "是" if rng.random() < 0.01 else "否",
                "是" if rng.random() < 0.02 else "否",
                "是" if gender is Gender.FEMALE and rng.random() < 0.01 else "否",
                "否",
                "是" if rng.random() < 0.05 else "否",
                "外出" if away else "在家",
                "2022-09-01" if away else "",
            )
        )
    return out.getvalue().encode("utf-8")


_TABLES = (Household, Resident, Residence)


def _empty(engine: Engine) -> None:
    with engine.begin() as c:
        for table in reversed(_TABLES):
            c.execute(delete(table))


def run_import_bench(
    *, rows: int, engine_name: str = "sqlite", database_url: str | None = None, step: Step
) -> BenchResult:
    """Build a temp database, time the import and the executemany baseline of the same rows."""
    with temporary_database(engine_name, database_url) as engine:
        step("tree", 0, 1)
        community_id, places = build_area_tree(engine, rows)
        step("tree", 1, 1)
        step("csv", 0, rows)
        data = generate_csv(rows, places)
        step("csv", rows, rows)

        def on_progress(done: int, total: int) -> None:
            step("import", done, total)

        factory = make_sessionmaker(engine)
        started = time.perf_counter()
        with session_scope(factory) as session:
            community = session.get(Area, community_id)
            report = import_residents(
                session,
                source="bench.csv",
                data=data,
                community=community,
                today=TODAY,
                progress=on_progress,
            )
        import_seconds = time.perf_counter() - started
        if not report.ok or report.imported != rows:
            first = report.problems[0].message_en if report.problems else "rows missing"
            raise RuntimeError(f"the generated file did not import: {first}")

        with engine.connect() as c:
            written = {
                table: [dict(r) for r in c.execute(select(table.__table__)).mappings()]
                for table in _TABLES
            }
        _empty(engine)
        step("baseline", 0, rows)
        started = time.perf_counter()
        with engine.begin() as c:
            for table in _TABLES:
                c.execute(insert(table), written[table])
        baseline_seconds = time.perf_counter() - started
        step("baseline", rows, rows)
        return BenchResult(engine.dialect.name, rows, import_seconds, baseline_seconds)
