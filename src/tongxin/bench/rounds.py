"""Set up a round over a demo district and describe it for the simulator (benchmarks only).

One site per community, one station per `people_per_station` present residents, a lab,
enough pre-issued tubes of each pool size, and optionally device tokens. The returned
`RoundFacts` queue each community's present residents at its site's stations in building
order (how communities stagger residents), plus a few walk-ins per site.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random

from sqlalchemy import select
from sqlalchemy.engine import Engine

from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.models import Area, Resident
from tongxin.registry.rules import AreaLevel
from tongxin.screening.rules import Zone
from tongxin.screening.setup import (
    add_lab,
    add_site,
    create_round,
    issue_device_token,
    issue_tubes,
)
from tongxin.screening.simulate import CHINA, RoundFacts, StationPlan, walk_ins

ROUND_START = datetime(2022, 9, 23, 0, 0, tzinfo=UTC)
LAB_DEVICE = "lab-1"
RECALL_DEVICE = "recall-1"


@dataclass
class BenchRound:
    """A round set up for a benchmark: what the simulator needs and the devices' tokens."""

    round_id: int
    round_code: str
    facts: RoundFacts
    tokens: dict[str, str] = field(default_factory=dict)  # device -> bearer token


def _station_device(station_code: str) -> str:
    return f"pad-{station_code}"


def setup_round(
    engine: Engine,
    *,
    rng: Random,
    now: datetime,
    code: str = "R1",
    people_per_station: int = 700,
    walk_ins_per_site: int = 2,
    box_tubes: int = 50,
    positive_rate: float = 0.01,
    tokens: bool = False,
) -> BenchRound:
    """Create a round at 10:1 over every community of the district in the database."""
    with session_scope(make_sessionmaker(engine)) as session:
        district = session.scalars(select(Area).where(Area.level == AreaLevel.DISTRICT.value)).one()
        communities = list(
            session.scalars(
                select(Area).where(Area.level == AreaLevel.COMMUNITY.value).order_by(Area.code)
            )
        )
        rnd = create_round(
            session,
            code=code,
            name="全员核酸基准轮次",
            district=district,
            targets=[(c, Zone.CONTROLLED) for c in communities],
            starts_at=ROUND_START,
        )
        lab = add_lab(session, code="LAB1", name="基准检测实验室", round=rnd)
        queues: dict[int, list[tuple[str, bool]]] = defaultdict(list)
        for community_id, resident, key_group in session.execute(
            select(Resident.community_id, Resident.resident_code, Resident.key_group)
            .where(Resident.status == "present")
            .order_by(Resident.community_id, Resident.building_id, Resident.id)
        ):
            queues[community_id].append((resident, key_group))

        stations: list[StationPlan] = []
        needed = {rnd.controlled_pool: 0, rnd.key_group_pool: 0}
        issued_tokens: dict[str, str] = {}
        for n, community in enumerate(communities, start=1):
            queue = queues.get(community.id, [])
            visitors = walk_ins(rng, walk_ins_per_site)
            people = [{"resident_code": c} for c, _ in queue] + visitors
            sizes = [rnd.key_group_pool if key else rnd.controlled_pool for _, key in queue]
            sizes += [rnd.controlled_pool] * len(visitors)
            count = max(1, math.ceil(len(people) / people_per_station))
            site, made = add_site(
                session,
                round=rnd,
                code=f"S{n:03d}",
                name=f"{community.name}采样点",
                area=community,
                stations=count,
            )
            for i, station in enumerate(made):
                part = slice(i * len(people) // count, (i + 1) * len(people) // count)
                share = sizes[part]
                for size in set(share):
                    needed[size] += math.ceil(share.count(size) / size) + 1
                device = _station_device(station.code)
                stations.append(
                    StationPlan(station.code, device, rnd.controlled_pool, people[part], share)
                )
                if tokens:
                    issued_tokens[device], _ = issue_device_token(
                        session,
                        round=rnd,
                        device=device,
                        now=now,
                        site=site,
                        valid_for=timedelta(days=2),
                    )
        people_total = sum(len(s.people) for s in stations)
        # Retests: every member of the positive pools, with a wide margin for chance.
        retests = int(people_total * positive_rate * 3) + 50
        tubes = {
            size: issue_tubes(session, round=rnd, count=count, capacity=size).barcodes
            for size, count in needed.items()
            if count
        }
        retest_tubes = issue_tubes(
            session, round=rnd, count=retests, capacity=rnd.key_group_pool
        ).barcodes
        if tokens:
            issued_tokens[LAB_DEVICE], _ = issue_device_token(
                session, round=rnd, device=LAB_DEVICE, now=now, lab=lab, valid_for=timedelta(days=2)
            )
        facts = RoundFacts(
            round=rnd.code,
            stations=stations,
            tubes=tubes,
            lab=lab.code,
            lab_device=LAB_DEVICE,
            recall_device=RECALL_DEVICE,
            retest_tubes=retest_tubes,
            starts_at=ROUND_START.astimezone(CHINA),
            box_tubes=box_tubes,
            positive_rate=positive_rate,
        )
        return BenchRound(rnd.id, rnd.code, facts, issued_tokens)
