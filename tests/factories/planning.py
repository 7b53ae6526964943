"""A demo district with a round and sites laid out so every building has one in reach."""

from __future__ import annotations

import math
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.factories.screening import ROUND_START
from tongxin.db import make_sessionmaker, session_scope
from tongxin.demo.service import build_district
from tongxin.planning.scheduler import ScheduleRules, place_sites
from tongxin.registry.models import Area, Resident
from tongxin.registry.rules import AreaLevel
from tongxin.screening.rules import Zone
from tongxin.screening.setup import add_site, create_round

RULES = ScheduleRules(
    slot_minutes=30, queue_cap=15.0, walk_limit_minutes=15.0, walk_speed_kmh=4.5, walk_detour=1.3
)


def planned_district(
    engine: Engine, *, residents: int, seed: int = 20220923, people_per_site: int = 2500
) -> str:
    """Build the demo district, a round R1 over it and sites at compounds; return "R1".

    Sites go where `place_sites` puts them (every building within the walking limit), one
    per `people_per_site` residents or more, each with stations for its nearest residents at
    60 % utilisation over a 13-hour day.
    """
    build_district(engine, residents=residents, seed=seed, batch_rows=5000)
    with session_scope(make_sessionmaker(engine)) as session:
        district = session.scalars(select(Area).where(Area.level == AreaLevel.DISTRICT)).one()
        buildings = list(session.scalars(select(Area).where(Area.level == AreaLevel.BUILDING)))
        people = dict(
            session.execute(
                select(Resident.building_id, func.count()).group_by(Resident.building_id)
            ).all()
        )
        places = [(b.latitude, b.longitude, people.get(b.id, 0)) for b in buildings]
        # Generated buildings always have coordinates; the model types them as optional.
        chosen = place_sites(places, RULES, math.ceil(residents / people_per_site))  # type: ignore[arg-type]
        rnd = create_round(
            session,
            code="R1",
            name="第一轮全员核酸",
            district=district,
            targets=[(district, Zone.PRECAUTION)],
            starts_at=ROUND_START,
        )
        load: dict[int, int] = defaultdict(int)
        for b, n in zip(buildings, (p[2] for p in places), strict=True):
            nearest = min(
                chosen,
                key=lambda i: (
                    # Same: generated coordinates are never None.
                    (buildings[i].latitude - b.latitude) ** 2  # type: ignore[operator]
                    + (buildings[i].longitude - b.longitude) ** 2
                ),  # type: ignore[operator]
            )
            load[nearest] += n
        for n, i in enumerate(sorted(set(chosen))):
            stations = max(2, math.ceil(load[i] / (90 * 13 * 0.6)))
            compound = session.get(Area, buildings[i].compound_id)
            assert compound is not None
            add_site(
                session,
                round=rnd,
                code=f"S{n + 1:03d}",
                name=f"{compound.name}{buildings[i].name}采样点",
                area=buildings[i],
                stations=stations,
            )
    return "R1"
