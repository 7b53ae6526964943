"""Write the demo district into a database and create the demo users.

`build_district` is a bulk loader and the one deliberate exception to "services never
commit": it takes the engine, not a session, and commits every batch. A single transaction
over millions of rows would hold every row's undo (PostgreSQL) or the whole WAL (SQLite)
until the end; committing per batch keeps memory and journal size bounded. A build that
fails half-way leaves a partial district, which `tongxin demo build --replace` clears.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Table, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Role
from tongxin.accounts.service import create_user
from tongxin.demo import names
from tongxin.demo.generator import AS_OF, Chunk, DistrictGenerator
from tongxin.privacy.service import add_id_hashes
from tongxin.registry.models import Area, Household, Residence, Resident
from tongxin.registry.rules import AreaLevel, IdType
from tongxin.registry.service import ANCESTOR_COLUMNS, area_by_code, level_column

if TYPE_CHECKING:
    from tongxin.demo.round import DemoRound

ProgressCallback = Callable[[int], None]

_RESIDENT_CARD = IdType.RESIDENT_CARD.value
_TABLES = (Area, Household, Resident, Residence)
# Indexes whose keys arrive in random order: the search indexes (names, phone and ID-number
# tails) and the two unique keys (the resident code is a scrambled number, the ID number a
# keyed hash). Kept during a load, each batch dirties about one page of each per resident,
# and the cost per row grows with the table; built once afterwards, each is a single sort
# (docs/decisions/0014, 0017). Building a unique index afterwards still refuses a load
# that repeated a key.
_LOAD_DEFERRED_INDEXES = (
    "ix_residents_name",
    "ix_residents_phone_tail",
    "ix_residents_id_tail",
    "uq_residents_resident_code",
    "uq_residents_id_type_id_number_hash",
)


class DemoError(ValueError):
    """A demo request that cannot be carried out; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DemoLogin:
    """A demo account. The passwords are public on purpose: this is a demo, never production."""

    username: str
    password: str
    role: Role
    display_name: str
    area_code: str

    def as_dict(self) -> dict[str, str]:
        """Return the login as plain strings for JSON and tables."""
        return {
            "username": self.username,
            "password": self.password,
            "role": self.role.value,
            "area": self.area_code,
            "display_name": self.display_name,
        }


FIRST_COMMUNITY_CODE = f"{names.DISTRICT_CODE}001001"

DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", "admin-demo-2022", Role.ADMIN, "演示管理员", names.DISTRICT_CODE),
    DemoLogin(
        "commander", "commander-demo-2022", Role.COMMANDER, "区指挥部值班员", names.DISTRICT_CODE
    ),
    DemoLogin(
        "health", "health-demo-2022", Role.HEALTH_OFFICER, "区卫健局数据专员", names.DISTRICT_CODE
    ),
    DemoLogin(
        "worker", "worker-demo-2022", Role.COMMUNITY_WORKER, "新星社区网格员", FIRST_COMMUNITY_CODE
    ),
    DemoLogin("sampler", "sampler-demo-2022", Role.SAMPLER, "新星社区采样员", FIRST_COMMUNITY_CODE),
    DemoLogin(
        "hotline",
        "hotline-demo-2022",
        Role.HOTLINE_OPERATOR,
        "区求助热线接线员",
        names.DISTRICT_CODE,
    ),
    DemoLogin(
        "supervisor",
        "supervisor-demo-2022",
        Role.HOTLINE_SUPERVISOR,
        "区民政局热线督办员",
        names.DISTRICT_CODE,
    ),
    DemoLogin(
        "supplies",
        "supplies-demo-2022",
        Role.SUPPLIES_OFFICER,
        "区商务局物资专员",
        names.DISTRICT_CODE,
    ),
    DemoLogin("driver", "driver-demo-2022", Role.VOLUNTEER, "志愿司机 王师傅", names.DISTRICT_CODE),
)
# What the supplies pages need to be tried (docs/demo.md): a depot at the district's centre,
# the three items of the 2022 donations, the vegetable package the commerce bureau packed,
# and a small volunteer fleet of private cars; the first driver signs in as `driver`.
DEMO_DEPOT = ("CK-BY", "白云区物资中转站", 26.68, 106.63)
DEMO_ITEMS = (
    ("VEG", "蔬菜", "kg", True, False),
    ("RICE", "大米", "kg", True, False),
    # Kept by the bottle, the unit a car delivers; the `oxygen` flag (conversion from liquid
    # tonnes) is for items kept in gas m³, so it stays off here.
    ("O2", "医用氧气", "bottle", False, False),
)
DEMO_PACKAGE = ("PKG-VEG", "蔬菜包", (("VEG", "5"), ("RICE", "1")))
# (name, plate, capacity kg): private cars carry about 150-250 kg of packages.
DEMO_FLEET = (
    ("王师傅", "贵A·D2201", 200),
    ("李师傅", "贵A·D2202", 200),
    ("张师傅", "贵A·D2203", 150),
    ("刘师傅", "贵A·D2204", 250),
    ("陈师傅", "贵A·D2205", 150),
)


@dataclass(frozen=True)
class BuildSummary:
    """What a demo build wrote and how long it took."""

    residents: int
    households: int
    areas: int
    seed: int
    as_of: date
    largest_community_code: str
    largest_community_name: str
    largest_community_residents: int
    seconds: float
    # The demo round added after the district (`tongxin.demo.round`), when there is one.
    round: DemoRound | None = None


def has_district(connection: Connection | Session) -> bool:
    """Tell whether the database already holds a district."""
    found = connection.execute(
        select(Area.id).where(Area.level == AreaLevel.DISTRICT.value).limit(1)
    ).first()
    return found is not None


def empty_database(engine: Engine) -> None:
    """Delete every row of every Tongxin table (what `--replace` does before a rebuild)."""
    from tongxin.models import metadata

    tables = [t.name for t in reversed(metadata.sorted_tables)]
    # Table names come from our metadata, never from input; DDL-like statements cannot bind
    # identifiers, so they are formatted in.
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f"DELETE FROM {name}"))


class _Writer:
    """Turn chunks into rows with ids assigned here, and insert them batch by batch.

    Assigning ids in Python (the build starts on an empty district) avoids reading generated
    ids back: every batch is one insert statement per table.
    """

    def __init__(self, engine: Engine, *, batch_rows: int, recorded_at: datetime) -> None:
        self.engine = engine
        self.batch_rows = batch_rows
        self.recorded_at = recorded_at
        with engine.connect() as connection:
            self.next_id = {
                table.__tablename__: int(connection.scalar(select(func.max(table.id))) or 0) + 1
                for table in _TABLES
            }
        # Ancestor ids of the areas still referenced: the district down to the current compound.
        self.ancestry: dict[str, dict[str, Any]] = {}
        self.areas: list[dict[str, Any]] = []
        self.households: list[dict[str, Any]] = []
        self.residents: list[dict[str, Any]] = []
        self.residences: list[dict[str, Any]] = []
        self.totals = {"areas": 0, "households": 0, "residents": 0}

    def _take_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def add(self, chunk: Chunk) -> None:
        for spec in chunk.areas:
            area_id = self._take_id("areas")
            parent = self.ancestry[spec.parent_code] if spec.parent_code else None
            row: dict[str, Any] = {
                "id": area_id,
                "code": spec.code,
                "name": spec.name,
                "level": spec.level.value,
                "parent_id": parent["id"] if parent else None,
                "latitude": spec.latitude,
                "longitude": spec.longitude,
            }
            for col in ANCESTOR_COLUMNS:
                row[col] = parent[col] if parent else None
            own = level_column(spec.level)
            if own:
                row[own] = area_id
            if spec.level is AreaLevel.COMPOUND:
                self._forget_below_compound()
            self.ancestry[spec.code] = row
            self.areas.append(row)
        household_rows = []
        for hh in chunk.households:
            unit = self.ancestry[hh.unit_code]
            row = {"id": self._take_id("households"), "area_id": unit["id"], "room": hh.room}
            for col in ANCESTOR_COLUMNS:
                row[col] = unit[col]
            household_rows.append((row, hh.moved_in))
            self.households.append(row)
        for p in chunk.people:
            household, moved_in = household_rows[p.household]
            resident_id = self._take_id("residents")
            self.residents.append(
                {
                    "id": resident_id,
                    "resident_code": p.resident_code,
                    "name": p.name,
                    "gender": p.gender,
                    "birth_date": p.birth_date,
                    "phone": p.phone,
                    "phone_tail": p.phone[-4:] if p.phone else None,
                    "id_type": _RESIDENT_CARD,
                    "id_number": p.id_number,
                    "id_tail": p.id_number[-4:],
                    "registered_address": p.registered_address,
                    "household_id": household["id"],
                    "district_id": household["district_id"],
                    "street_id": household["street_id"],
                    "community_id": household["community_id"],
                    "compound_id": household["compound_id"],
                    "building_id": household["building_id"],
                    "bedridden": p.bedridden,
                    "disabled": p.disabled,
                    "pregnant": p.pregnant,
                    "key_group": p.key_group,
                    "no_smartphone": p.no_smartphone,
                    "status": p.status,
                    "status_since": p.status_since,
                }
            )
            self.residences.append(
                {
                    "id": self._take_id("residences"),
                    "resident_id": resident_id,
                    "household_id": household["id"],
                    "moved_in": max(moved_in, p.birth_date),
                    "moved_out": None,
                    "recorded_at": self.recorded_at,
                }
            )

    def _forget_below_compound(self) -> None:
        levels = (AreaLevel.COMPOUND.value, AreaLevel.BUILDING.value, AreaLevel.UNIT.value)
        for code in [c for c, row in self.ancestry.items() if row["level"] in levels]:
            del self.ancestry[code]

    def full(self) -> bool:
        return len(self.residents) >= self.batch_rows

    def flush(self) -> int:
        """Insert the pending rows in one transaction; return how many residents it wrote."""
        written = len(self.residents)
        with self.engine.begin() as connection:
            # The insert seals each ID number (a few microseconds each); the hash finds it.
            add_id_hashes(connection, self.residents)
            for table, rows in (
                (Area, self.areas),
                (Household, self.households),
                (Resident, self.residents),
                (Residence, self.residences),
            ):
                if rows:
                    connection.execute(insert(table), rows)
        self.totals["areas"] += len(self.areas)
        self.totals["households"] += len(self.households)
        self.totals["residents"] += written
        self.areas, self.households, self.residents, self.residences = [], [], [], []
        return written

    def finish(self) -> None:
        """Refresh planner statistics and move PostgreSQL's id sequences past our ids."""
        # Right after a bulk load the planner has no statistics (PostgreSQL's autovacuum has
        # not run yet, SQLite never gathers them unasked) and misjudges the first queries.
        # Table names below come from our models, never from input (identifiers cannot be bound).
        with self.engine.begin() as connection:
            for table in _TABLES:
                connection.execute(text(f"ANALYZE {table.__tablename__}"))
        if self.engine.dialect.name != "postgresql":
            return
        with self.engine.begin() as connection:
            for table in _TABLES:
                name = table.__tablename__
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                    )
                )


@contextmanager
def _random_key_indexes_built_after_load(engine: Engine) -> Iterator[None]:
    """Drop the random-key indexes of an empty residents table; create them again after."""
    with engine.connect() as connection:
        if connection.scalar(select(Resident.id).limit(1)) is not None:
            yield  # rows already indexed: dropping would cost more than it saves
            return
    table = cast(Table, Resident.__table__)
    indexes = [i for i in table.indexes if i.name in _LOAD_DEFERRED_INDEXES]
    with engine.begin() as connection:
        for index in indexes:
            index.drop(connection, checkfirst=True)
    try:
        yield
    finally:
        # Also after a failed load: the partial district stays searchable until replaced.
        # One transaction each, so that a refused unique key leaves the others built.
        refused: list[str] = []
        for index in indexes:
            try:
                with engine.begin() as connection:
                    index.create(connection, checkfirst=True)
            except IntegrityError:
                refused.append(str(index.name))
        if refused:
            raise DemoError(
                "resident_key_repeated",
                f"the load wrote a key twice, so {', '.join(refused)} cannot be built;"
                " the residents table is not guarded by it until the district is replaced",
            )


def build_district(
    engine: Engine,
    *,
    residents: int,
    seed: int,
    as_of: date = AS_OF,
    batch_rows: int = 5000,
    on_progress: ProgressCallback | None = None,
) -> BuildSummary:
    """Generate 白云区 with `residents` people and write it, committing every batch."""
    with engine.connect() as connection:
        if has_district(connection):
            raise DemoError("district_exists", "the database already holds a district")
    started = time.perf_counter()
    generator = DistrictGenerator(residents=residents, seed=seed, as_of=as_of)
    writer = _Writer(
        engine,
        batch_rows=batch_rows,
        recorded_at=datetime.combine(as_of, clock_time(9, 0), tzinfo=UTC),
    )
    with _random_key_indexes_built_after_load(engine):
        for chunk in generator.chunks():
            writer.add(chunk)
            if writer.full():
                written = writer.flush()
                if on_progress:
                    on_progress(written)
        written = writer.flush()
        if on_progress:
            on_progress(written)
    writer.finish()
    largest = generator.plan.largest_community()
    return BuildSummary(
        residents=writer.totals["residents"],
        households=writer.totals["households"],
        areas=writer.totals["areas"],
        seed=seed,
        as_of=as_of,
        largest_community_code=largest.code,
        largest_community_name=largest.name,
        largest_community_residents=largest.residents,
        seconds=round(time.perf_counter() - started, 2),
    )


def create_demo_users(session: Session) -> list[DemoLogin]:
    """Create the demo accounts in their jurisdictions; the district must exist."""
    for login in DEMO_LOGINS:
        create_user(
            session,
            username=login.username,
            password=login.password,
            role=login.role,
            display_name=login.display_name,
            jurisdiction=area_by_code(session, login.area_code),
        )
    # The district's help line, answered by the demo operator (docs/hotline.md).
    from tongxin.hotline.service import add_hotline

    operator = session.scalar(select(User).where(User.username == "hotline"))
    add_hotline(
        session,
        code="BY-12345",
        name="白云区困难群众求助热线",
        number="0851-84812345",
        organisation="白云区民政局",
        jurisdiction=area_by_code(session, names.DISTRICT_CODE),
        hours="24小时",
        operators=[operator] if operator is not None else [],
    )
    seed_supplies(session)
    return list(DEMO_LOGINS)


def seed_supplies(session: Session) -> None:
    """Add the demo depot, items, the vegetable package and the volunteer fleet.

    Stock is left empty on purpose: a new user books the first donation on the desk and
    follows it to the door. The `driver` login, when it exists, drives the first car.
    """
    from tongxin.logistics import service as fleet
    from tongxin.supplies import service as supplies

    code, name, latitude, longitude = DEMO_DEPOT
    depot = supplies.add_warehouse(
        session, code=code, name=name, kind="depot", latitude=latitude, longitude=longitude
    )
    for item_code, item_name, unit, perishable, oxygen in DEMO_ITEMS:
        supplies.add_item(
            session,
            code=item_code,
            name=item_name,
            unit=unit,
            perishable=perishable,
            oxygen=oxygen,
        )
    package_code, package_name, components = DEMO_PACKAGE
    supplies.define_package(
        session, code=package_code, name=package_name, components=list(components)
    )
    driver_user = session.scalar(select(User.id).where(User.username == "driver"))
    for i, (driver_name, plate, capacity) in enumerate(DEMO_FLEET):
        driver = fleet.add_driver(
            session, name=driver_name, user_id=driver_user if i == 0 else None
        )
        fleet.add_vehicle(
            session,
            plate=plate,
            driver=driver,
            depot=depot,
            capacity_kg=capacity,
            available_from=clock_time(8, 0),
            available_to=clock_time(20, 0),
        )


def existing_demo_logins(session: Session) -> list[DemoLogin]:
    """Return the demo accounts that exist in this database, in the usual order."""
    usernames = set(
        session.scalars(
            select(User.username).where(User.username.in_([d.username for d in DEMO_LOGINS]))
        )
    )
    return [login for login in DEMO_LOGINS if login.username in usernames]
