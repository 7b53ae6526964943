"""The demo district's first round: sites every building can walk to, a lab and tubes.

`make demo` adds it so a new user finds a round to look at, plan (`/planning/rounds/R1/
schedule`) and sample into with the field app, without scripting one first. The planning
tests use the same layout, so the schedule they check is the one the demo shows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tongxin.db import make_sessionmaker, session_scope
from tongxin.planning.scheduler import ScheduleRules, place_sites
from tongxin.registry.models import Area, Resident
from tongxin.registry.rules import AreaLevel
from tongxin.screening.models import Round
from tongxin.screening.rules import Zone
from tongxin.screening.setup import add_lab, add_site, create_round, issue_tubes

ROUND_CODE = "R1"
# 08:00 on 23 Sept 2022 in Guiyang, the week the demo is set in.
ROUND_START = datetime(2022, 9, 23, 0, 0, tzinfo=UTC)
PEOPLE_PER_SITE = 2500
# Station sizing: 90 people an hour for 13 hours at 60 % utilisation, so queues stay short.
STATION_DAY_PEOPLE = 90 * 13 * 0.6
# Placement: the planner's default walk (15 min at 4.5 km/h, 1.3 detour).
PLACEMENT = ScheduleRules(
    slot_minutes=30, queue_cap=15.0, walk_limit_minutes=15.0, walk_speed_kmh=4.5, walk_detour=1.3
)


@dataclass(frozen=True)
class DemoRound:
    """What the demo round holds."""

    code: str
    sites: int
    stations: int
    tubes: int


def has_round(engine: Engine, code: str = ROUND_CODE) -> bool:
    """Tell whether the database already holds the demo round."""
    with engine.connect() as connection:
        return connection.scalar(select(Round.id).where(Round.code == code)) is not None


def add_demo_round(
    engine: Engine,
    *,
    people_per_site: int = PEOPLE_PER_SITE,
    with_lab_and_tubes: bool = True,
) -> DemoRound:
    """Create round R1 over the whole district (precaution zone, 20:1) with sites at buildings.

    Sites go where `place_sites` puts them (every building within the walking limit), one
    per `people_per_site` residents or more, each with stations for its nearest residents.
    With `with_lab_and_tubes` the round also gets a lab and tubes for every resident
    (20:1, and single tubes for the key groups) with a tenth to spare.
    """
    with session_scope(make_sessionmaker(engine)) as session:
        district = session.scalars(select(Area).where(Area.level == AreaLevel.DISTRICT)).one()
        buildings = list(
            session.scalars(select(Area).where(Area.level == AreaLevel.BUILDING).order_by(Area.id))
        )
        people: dict[int, int] = {
            building: int(count)
            for building, count in session.execute(
                select(Resident.building_id, func.count()).group_by(Resident.building_id)
            )
        }
        located = [b for b in buildings if b.latitude is not None and b.longitude is not None]
        points = [(float(b.latitude or 0), float(b.longitude or 0)) for b in located]
        residents = sum(people.values())
        chosen = place_sites(
            [
                (lat, lon, people.get(b.id, 0))
                for (lat, lon), b in zip(points, located, strict=True)
            ],
            PLACEMENT,
            max(1, math.ceil(residents / people_per_site)),
        )
        rnd = create_round(
            session,
            code=ROUND_CODE,
            name="第一轮全员核酸",
            district=district,
            targets=[(district, Zone.PRECAUTION)],
            starts_at=ROUND_START,
        )
        load: dict[int, int] = defaultdict(int)
        for (lat, lon), b in zip(points, located, strict=True):
            nearest = min(
                chosen, key=lambda i: (points[i][0] - lat) ** 2 + (points[i][1] - lon) ** 2
            )
            load[nearest] += people.get(b.id, 0)
        stations = 0
        for n, i in enumerate(sorted(set(chosen))):
            count = max(2, math.ceil(load[i] / STATION_DAY_PEOPLE))
            compound = session.get_one(Area, located[i].compound_id)
            add_site(
                session,
                round=rnd,
                code=f"S{n + 1:03d}",
                name=f"{compound.name}{located[i].name}采样点",
                area=located[i],
                stations=count,
            )
            stations += count
        tubes = 0
        if with_lab_and_tubes:
            add_lab(session, code="LAB1", name="白云区核酸检测实验室", round=rnd)
            key_group = int(
                session.scalar(
                    select(func.count()).select_from(Resident).where(Resident.key_group.is_(True))
                )
                or 0
            )
            pooled = math.ceil((residents - key_group) / rnd.precaution_pool * 1.1)
            singles = math.ceil(key_group * 1.1) + 10
            issue_tubes(session, round=rnd, count=pooled, capacity=rnd.precaution_pool)
            issue_tubes(session, round=rnd, count=singles, capacity=rnd.key_group_pool)
            tubes = pooled + singles
        return DemoRound(ROUND_CODE, len(set(chosen)), stations, tubes)
