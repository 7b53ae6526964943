"""Planning use cases: read the registry and the round, hand them to the pure planners.

Plans are computed on demand (decision 0011): nothing is stored, so a schedule always
reflects the registry and the round's sites as they are now.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tongxin.planning.outputs import notice_text, queue_chart_svg
from tongxin.planning.rules import PlanningError, PrevalenceEstimate, estimate_prevalence
from tongxin.planning.scheduler import (
    CHINA,
    Group,
    HomeTask,
    Plan,
    Route,
    ScheduleRules,
    SiteSpec,
    Slot,
    home_routes,
    opening_slots,
    plan_schedule,
    slot_queue,
)
from tongxin.privacy.rules import mask_name
from tongxin.registry.models import Area, Household, Resident
from tongxin.registry.rules import AreaLevel, ResidentStatus, age_on
from tongxin.screening.models import Round, RoundArea, Site, Station, Tube
from tongxin.settings import Settings


def earlier_results(session: Session, *, before: Round | None = None) -> dict[int, tuple[int, int]]:
    """Return resulted tubes of earlier rounds as {members per tube: (positive, negative)}."""
    stmt = (
        select(Tube.member_count, Tube.result, func.count())
        .where(Tube.result.in_(("positive", "negative")), Tube.member_count > 0)
        .group_by(Tube.member_count, Tube.result)
    )
    if before is not None:
        earlier = select(Round.id).where(Round.starts_at < before.starts_at)
        stmt = stmt.where(Tube.round_id.in_(earlier))
    groups: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for members, result, count in session.execute(stmt):
        groups[int(members)][0 if result == "positive" else 1] += int(count)
    return {k: (v[0], v[1]) for k, v in groups.items()}


def prevalence_from_results(
    session: Session, *, before: Round | None = None
) -> PrevalenceEstimate | None:
    """Return the prevalence estimated from earlier rounds' tube results, or None if none."""
    groups = earlier_results(session, before=before)
    if not groups:
        return None
    return estimate_prevalence(groups)


# --- the staggered schedule ----------------------------------------------------------------


@dataclass
class ScheduleData:
    """What the planner needs about one round, read from the database."""

    round: Round
    rules: ScheduleRules
    sites: list[SiteSpec]
    slots: list[Slot]
    groups: list[Group]
    group_households: dict[str, list[int]]
    group_residents: dict[str, list[int]]
    green_residents: dict[str, list[int]]
    home_tasks: list[HomeTask]
    residents: int
    building_labels: dict[int, str]


@dataclass
class Schedule:
    """A round's schedule and what it gives people."""

    data: ScheduleData
    plan: Plan
    routes: list[Route]
    notices: list[dict[str, object]] = field(default_factory=list)


@dataclass
class _Household:
    """A household's walking residents, split into the green channel and the rest."""

    building: int
    unit: int
    room: str
    people: list[int] = field(default_factory=list)
    green: list[int] = field(default_factory=list)


def _parse_clock(raw: str, name: str) -> time:
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise PlanningError("clock", name, f"{name} is not HH:MM: {raw!r}") from None


def _centre_of(session: Session, area: Area) -> tuple[float | None, float | None] | None:
    """Return the mean point of an area's located descendants (a site set at a community)."""
    column = {
        AreaLevel.STREET: Area.street_id,
        AreaLevel.COMMUNITY: Area.community_id,
        AreaLevel.COMPOUND: Area.compound_id,
        AreaLevel.BUILDING: Area.building_id,
    }.get(AreaLevel(area.level))
    if column is None:
        return None
    row = session.execute(
        select(func.avg(Area.latitude), func.avg(Area.longitude)).where(
            column == area.id, Area.latitude.is_not(None), Area.longitude.is_not(None)
        )
    ).one()
    return None if row[0] is None else (float(row[0]), float(row[1]))


def _room_key(room: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", room)
    return (int(digits) if digits else 0, room)


def schedule_rules(settings: Settings) -> ScheduleRules:
    """Return the schedule limits from settings."""
    return ScheduleRules(
        slot_minutes=settings.plan_slot_minutes,
        queue_cap=settings.plan_queue_cap,
        walk_limit_minutes=settings.plan_walk_minutes,
        walk_speed_kmh=settings.plan_walk_speed_kmh,
        walk_detour=settings.plan_walk_detour,
    )


def load_schedule_data(
    session: Session,
    *,
    rnd: Round,
    settings: Settings,
    throughput: Mapping[str, float] | None = None,
) -> ScheduleData:
    """Read the round's sites and the residents of its target areas into planner inputs."""
    throughput = dict(throughput or {})
    rules = schedule_rules(settings)
    slots = opening_slots(
        rnd.starts_at,
        rnd.deadline,
        opens=_parse_clock(settings.plan_site_opens, "plan_site_opens"),
        closes=_parse_clock(settings.plan_site_closes, "plan_site_closes"),
        slot_minutes=settings.plan_slot_minutes,
    )
    site_rows = list(
        session.execute(
            select(Site, func.count(Station.id))
            .join(Station, Station.site_id == Site.id, isouter=True)
            .where(Site.round_id == rnd.id)
            .group_by(Site.id)
            .order_by(Site.code)
        )
    )
    unknown = set(throughput) - {s.code for s, _ in site_rows}
    if unknown:
        raise PlanningError(
            "site_unknown", "throughput", f"no site {sorted(unknown)[0]!r} in round {rnd.code}"
        )
    areas_needed = {s.area_id for s, _ in site_rows}
    site_areas = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(areas_needed)))}
    ancestors = {
        i
        for a in site_areas.values()
        for i in (a.building_id, a.compound_id, a.community_id, a.street_id)
        if i is not None
    }
    coords = {
        a.id: (a.latitude, a.longitude)
        for a in session.scalars(select(Area).where(Area.id.in_(ancestors | areas_needed)))
    }
    sites: list[SiteSpec] = []
    for site, stations in site_rows:
        area = site_areas[site.area_id]
        # A site placed at a unit has no point of its own: use its nearest located ancestor.
        point = next(
            (
                coords[i]
                for i in (area.id, area.building_id, area.compound_id, area.community_id)
                if i is not None and i in coords and coords[i][0] is not None
            ),
            None,
        )
        if point is None:
            point = _centre_of(session, area)
        if point is None or point[1] is None:
            raise PlanningError(
                "site_location", "site", f"site {site.code} has no coordinates in its area"
            )
        sites.append(
            SiteSpec(
                id=site.id,
                code=site.code,
                name=site.name,
                # point[0] is set: coords were kept only with a latitude, the centre is an average
                # of non-null ones, and a missing longitude was refused just above.
                latitude=float(point[0]),  # type: ignore[arg-type]
                longitude=float(point[1]),
                stations=int(stations),
                per_station_hour=throughput.get(site.code, settings.plan_station_per_hour),
            )
        )
    targets = list(session.scalars(select(RoundArea.area_id).where(RoundArea.round_id == rnd.id)))
    in_target = or_(
        Resident.district_id.in_(targets),
        Resident.street_id.in_(targets),
        Resident.community_id.in_(targets),
        Resident.compound_id.in_(targets),
        Resident.building_id.in_(targets),
    )
    rows = session.execute(
        select(
            Resident.id,
            Resident.name,
            Resident.birth_date,
            Resident.bedridden,
            Resident.disabled,
            Resident.pregnant,
            Resident.no_smartphone,
            Resident.building_id,
            Resident.compound_id,
            Resident.community_id,
            Household.id,
            Household.area_id,
            Household.room,
        )
        .join(Household, Household.id == Resident.household_id)
        .where(in_target, Resident.status == ResidentStatus.PRESENT.value)
        .order_by(Resident.id)
    ).all()
    area_ids = {r[7] for r in rows} | {r[8] for r in rows} | {r[11] for r in rows}
    areas = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(area_ids)))}
    today: date = rnd.starts_at.astimezone(CHINA).date()
    households: dict[int, _Household] = {}
    home: list[HomeTask] = []
    for (
        rid,
        name,
        born,
        bedridden,
        disabled,
        pregnant,
        no_phone,
        building_id,
        compound_id,
        community_id,
        hid,
        area_id,
        room,
    ) in rows:
        building = areas[building_id]
        compound = areas[compound_id]
        if building.latitude is None or building.longitude is None:
            raise PlanningError(
                "building_location", "building", f"building {building.code} has no coordinates"
            )
        label = f"{compound.name}{building.name}"
        if bedridden or disabled:
            home.append(
                HomeTask(
                    resident_id=rid,
                    name=mask_name(name),
                    building_label=label,
                    room=room,
                    reason="卧床" if bedridden else "残疾",
                    latitude=building.latitude,
                    longitude=building.longitude,
                    sort_key=f"{community_id:09d}-{compound_id:09d}-{building.code}",
                )
            )
            continue
        h = households.setdefault(hid, _Household(building_id, area_id, room))
        green = pregnant or no_phone or age_on(born, today) >= settings.elderly_age
        (h.green if green else h.people).append(rid)
    groups, members = _group_households(households, areas, settings.plan_group_max_people)
    group_residents = {
        key: [r for h in hids for r in households[h].people] for key, hids in members.items()
    }
    green_residents = {
        key: [r for h in hids for r in households[h].green] for key, hids in members.items()
    }
    labels = {
        b: f"{areas[areas[b].compound_id or b].name}{areas[b].name}"
        for b in {h.building for h in households.values()}
    }
    return ScheduleData(
        round=rnd,
        rules=rules,
        sites=sites,
        slots=slots,
        groups=groups,
        group_households=members,
        group_residents=group_residents,
        green_residents=green_residents,
        home_tasks=home,
        residents=len(rows),
        building_labels=labels,
    )


def _group_households(
    households: dict[int, _Household], areas: dict[int, Area], group_max: int
) -> tuple[list[Group], dict[str, list[int]]]:
    """Cut buildings into groups: whole when small, by unit when large, by rooms when huge."""
    by_building: dict[int, list[int]] = defaultdict(list)
    for hid, household in households.items():
        by_building[household.building].append(hid)

    def size(hids: list[int]) -> int:
        return sum(len(households[h].people) + len(households[h].green) for h in hids)

    groups: list[Group] = []
    members: dict[str, list[int]] = {}

    def add(key: str, label: str, building: Area, hids: list[int]) -> None:
        people = sum(len(households[h].people) for h in hids)
        green = sum(len(households[h].green) for h in hids)
        groups.append(
            Group(
                key=key,
                building_id=building.id,
                label=label,
                # Buildings without coordinates were refused while loading (building_location).
                latitude=float(building.latitude),  # type: ignore[arg-type]
                longitude=float(building.longitude),  # type: ignore[arg-type]
                people=people,
                green=green,
            )
        )
        members[key] = hids

    for building_id in sorted(by_building):
        building = areas[building_id]
        # A building always has a compound (the area tree); the column is nullable for the
        # levels above it.
        compound = areas[building.compound_id]  # type: ignore[index]
        label = f"{compound.name}{building.name}"
        hids = sorted(by_building[building_id], key=lambda h: _room_key(households[h].room))
        if size(hids) <= group_max:
            add(f"B{building_id}", label, building, hids)
            continue
        by_unit: dict[int, list[int]] = defaultdict(list)
        for h in hids:
            by_unit[households[h].unit].append(h)
        for unit_id in sorted(by_unit):
            unit = areas.get(unit_id)
            unit_label = label + (unit.name if unit and unit.level == AreaLevel.UNIT else "")
            unit_hids = by_unit[unit_id]
            if size(unit_hids) <= group_max:
                add(f"U{unit_id}", unit_label, building, unit_hids)
                continue
            # A run of rooms (floors in order); a household is never split.
            run: list[int] = []
            part = 0
            for h in [*unit_hids, -1]:
                if h == -1 or (run and size([*run, h]) > group_max):
                    part += 1
                    first, last = households[run[0]].room, households[run[-1]].room
                    add(f"U{unit_id}#{part}", f"{unit_label}{first}–{last}室", building, run)
                    run = []
                if h != -1:
                    run.append(h)
    return groups, members


def build_schedule(
    session: Session,
    *,
    rnd: Round,
    settings: Settings,
    throughput: Mapping[str, float] | None = None,
    teams: int | None = None,
) -> Schedule:
    """Plan the round: groups to sites and slots, door-to-door routes, notices."""
    data = load_schedule_data(session, rnd=rnd, settings=settings, throughput=throughput)
    plan = plan_schedule(data.groups, data.sites, data.slots, data.rules)
    per_team = settings.plan_home_visits_per_team
    if teams is not None:
        if teams < 1:
            raise PlanningError("teams", "teams", "teams must be at least 1")
        per_team = max(1, -(-len(data.home_tasks) // teams))
    routes = home_routes(
        data.home_tasks,
        per_team=per_team,
        visit_minutes=settings.plan_home_visit_minutes,
        walk_speed_kmh=settings.plan_walk_speed_kmh,
        walk_detour=settings.plan_walk_detour,
    )
    schedule = Schedule(data=data, plan=plan, routes=routes)
    if plan.feasible:
        site_names = {s.id: s.name for s in data.sites}
        groups = {g.key: g for g in data.groups}
        for a in sorted(plan.assignments, key=lambda a: a.group):
            g = groups[a.group]
            schedule.notices.append(
                {
                    "group": a.group,
                    "building_id": g.building_id,
                    "label": g.label,
                    "text": notice_text(
                        label=g.label,
                        site_name=site_names[a.site],
                        slot=data.slots[a.slot] if a.slot >= 0 else None,
                        green_slot=data.slots[a.green_slot] if a.green_slot is not None else None,
                        elderly_age=settings.elderly_age,
                    ),
                }
            )
    return schedule


def site_chart(schedule: Schedule, site: SiteSpec) -> str:
    """Return the SVG queue chart of one site."""
    loads = schedule.plan.loads.get(site.id, [0] * len(schedule.data.slots))
    queues = [slot_queue(site, schedule.data.rules, p) for p in loads]
    return queue_chart_svg(
        title=f"{site.name} 预计排队人数",
        slots=schedule.data.slots,
        queues=queues,
        green=schedule.plan.green_slots.get(site.id, []),
        cap=schedule.data.rules.queue_cap,
    )


def schedule_json(schedule: Schedule) -> dict[str, object]:
    """Return the schedule as JSON-ready data (times in China time, ISO 8601)."""
    data, plan = schedule.data, schedule.plan
    slots = data.slots
    groups = {g.key: g for g in data.groups}
    site_rows = []
    for site in data.sites:
        loads = plan.loads.get(site.id, [0] * len(slots))
        site_rows.append(
            {
                "code": site.code,
                "name": site.name,
                "stations": site.stations,
                "per_station_hour": site.per_station_hour,
                "green_slots": [
                    slots[i].starts.isoformat() for i in plan.green_slots.get(site.id, [])
                ],
                "slots": [
                    {
                        "starts": slots[i].starts.isoformat(),
                        "ends": slots[i].ends.isoformat(),
                        "people": loads[i],
                        "expected_queue": round(slot_queue(site, data.rules, loads[i]), 3),
                    }
                    for i in range(len(slots))
                    if loads[i]
                ],
            }
        )
    site_codes = {s.id: s.code for s in data.sites}
    return {
        "round": data.round.code,
        "feasible": plan.feasible,
        "objective": plan.objective(),
        "lower_bound": round(plan.lower_bound, 3),
        "gap": round(plan.gap, 4),
        "problems": [
            {
                "code": p.code,
                "zh": p.zh,
                "en": p.en,
                "site": p.site,
                "more_stations": p.more_stations,
            }
            for p in plan.problems
        ],
        "rules": {
            "slot_minutes": data.rules.slot_minutes,
            "queue_cap": data.rules.queue_cap,
            "walk_limit_minutes": data.rules.walk_limit_minutes,
        },
        "counts": {
            "residents": data.residents,
            "groups": len(data.groups),
            "walk_in": sum(g.people for g in data.groups),
            "green": sum(g.green for g in data.groups),
            "home_visits": len(data.home_tasks),
            "sites": len(data.sites),
            "slots": len(slots),
        },
        "sites": site_rows,
        "assignments": [
            {
                "group": a.group,
                "label": groups[a.group].label,
                "site": site_codes[a.site],
                "people": groups[a.group].people,
                "green": groups[a.group].green,
                "slot": slots[a.slot].starts.isoformat() if a.slot >= 0 else None,
                "green_slot": slots[a.green_slot].starts.isoformat()
                if a.green_slot is not None
                else None,
                "walk_minutes": a.walk_minutes,
            }
            for a in sorted(plan.assignments, key=lambda a: a.group)
        ],
        "notices": schedule.notices,
        "home_routes": [
            {
                "team": r.team,
                "minutes": round(r.minutes),
                "visits": [
                    {
                        "name": t.name,
                        "building": t.building_label,
                        "room": t.room,
                        "reason": t.reason,
                    }
                    for t in r.tasks
                ],
            }
            for r in schedule.routes
        ],
    }
