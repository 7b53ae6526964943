"""The staggered schedule: every building (large ones by unit) to a site and a time slot.

Pure: the service reads the registry and the round, this module decides. The heuristic
(decision 0011) is a bisection on the peak expected queue L:

1. At a level L, a slot at a site of c stations may take floor(ρ(L, c) · c · rate · slot)
   people, where ρ(L, c) is the highest utilisation whose expected queue stays under L
   (`rules.max_load_for_queue`).
2. Groups are placed most-constrained first (fewest sites within walking distance, then
   largest) on the nearest site that still has room, so walking stays low. A site's room
   counts its green channel's whole slots and a reserve of the people its packing left
   out at an earlier try (whole groups never fill slots exactly).
3. Inside a site the green-channel people take the first slots of the day, exclusively,
   and the other groups go largest first into the emptiest remaining slot.
4. The smallest L at which every group fits is the plan; its objective is the peak
   expected queue it actually gives, then the person-minutes walked.

The lower bound relaxes the same problem (people divisible over the sites in their walking
reach and over slots, green channel anywhere: a max-flow at each level), so
gap = (objective - bound) / objective is honest.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

from tongxin.planning.rules import expected_queue, max_load_for_queue, walk_minutes

CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class SiteSpec:
    """A sampling site: where it is, its stations and their throughput (people/hour each)."""

    id: int
    code: str
    name: str
    latitude: float
    longitude: float
    stations: int
    per_station_hour: float


@dataclass(frozen=True)
class Group:
    """People told to come together: a building, a unit, or a run of rooms in a big unit."""

    key: str
    building_id: int
    label: str
    latitude: float
    longitude: float
    people: int  # walk-in residents outside the green channel
    green: int  # elderly, pregnant or without a smartphone: green-channel slots


@dataclass(frozen=True)
class ScheduleRules:
    """The limits a plan must keep."""

    slot_minutes: int
    queue_cap: float
    walk_limit_minutes: float
    walk_speed_kmh: float
    walk_detour: float


@dataclass(frozen=True)
class Slot:
    """One time slot all sites share."""

    index: int
    starts: datetime
    ends: datetime


@dataclass(frozen=True)
class Assignment:
    """Where and when one group comes; green-channel people come to the same site."""

    group: str
    site: int
    slot: int
    green_slot: int | None
    walk_minutes: float


@dataclass(frozen=True)
class Problem:
    """Why a plan cannot be made, in Chinese and English, with what would fix it."""

    code: str
    zh: str
    en: str
    site: str | None = None
    group: str | None = None
    more_stations: int | None = None


@dataclass
class Plan:
    """A schedule with its objective, lower bound and gap, or the problems stopping it."""

    feasible: bool
    slots: list[Slot]
    assignments: list[Assignment] = field(default_factory=list)
    loads: dict[int, list[int]] = field(default_factory=dict)  # site id -> people per slot
    green_slots: dict[int, list[int]] = field(default_factory=dict)  # site id -> slot indexes
    peak_queue: float = 0.0
    walking_person_minutes: float = 0.0
    lower_bound: float = 0.0
    gap: float = 0.0
    level: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    def objective(self) -> dict[str, float]:
        """Return the two objectives in order: peak expected queue, then walking."""
        return {
            "peak_queue": round(self.peak_queue, 3),
            "walking_person_minutes": round(self.walking_person_minutes, 1),
        }


def opening_slots(
    starts_at: datetime,
    deadline: datetime,
    *,
    opens: time,
    closes: time,
    slot_minutes: int,
) -> list[Slot]:
    """Return the whole slots inside the sites' opening hours between start and deadline.

    Hours are China time; a slot never starts before the round or ends after its deadline.
    """
    start = starts_at.astimezone(CHINA)
    end = deadline.astimezone(CHINA)
    step = timedelta(minutes=slot_minutes)
    slots: list[Slot] = []
    day = start.date()
    while datetime.combine(day, time(0), CHINA) < end:
        t = datetime.combine(day, opens, CHINA)
        day_end = datetime.combine(day, closes, CHINA)
        while t + step <= day_end:
            if t >= start and t + step <= end:
                slots.append(Slot(len(slots), t, t + step))
            t += step
        day += timedelta(days=1)
    return slots


def slot_capacity(site: SiteSpec, rules: ScheduleRules, level: float) -> int:
    """Return the people one slot of a site may take so its expected queue stays <= level."""
    load = max_load_for_queue(level, site.stations)
    return math.floor(load * site.stations * site.per_station_hour * rules.slot_minutes / 60.0)


def slot_queue(site: SiteSpec, rules: ScheduleRules, people: int) -> float:
    """Return the expected queue of a slot at a site given the people booked into it."""
    full = site.stations * site.per_station_hour * rules.slot_minutes / 60.0
    return expected_queue(people / full, site.stations)


def reachable_sites(
    groups: Sequence[Group], sites: Sequence[SiteSpec], rules: ScheduleRules
) -> dict[str, list[tuple[float, int]]]:
    """Return, per group, (walk minutes, site index) of every site in reach, nearest first.

    A grid of cells about one walking limit wide means each group looks at nine cells, not
    at every site, so 400 sites and 30,000 groups stay quick.
    """
    metres = rules.walk_limit_minutes * rules.walk_speed_kmh * 1000 / 60 / rules.walk_detour
    cell = max(metres / 111_000.0, 1e-6)
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, s in enumerate(sites):
        grid[(int(s.latitude // cell), int(s.longitude // cell))].append(i)
    out: dict[str, list[tuple[float, int]]] = {}
    for g in groups:
        gy, gx = int(g.latitude // cell), int(g.longitude // cell)
        found: list[tuple[float, int]] = []
        # Longitude degrees are shorter than latitude ones, so two cells east-west suffice.
        for dy in (-1, 0, 1):
            for dx in (-2, -1, 0, 1, 2):
                for i in grid.get((gy + dy, gx + dx), ()):
                    s = sites[i]
                    minutes = walk_minutes(
                        g.latitude,
                        g.longitude,
                        s.latitude,
                        s.longitude,
                        speed_kmh=rules.walk_speed_kmh,
                        detour=rules.walk_detour,
                    )
                    if minutes <= rules.walk_limit_minutes:
                        found.append((minutes, i))
        found.sort()
        out[g.key] = found
    return out


def nearest_site(
    group: Group, sites: Sequence[SiteSpec], rules: ScheduleRules
) -> tuple[float, int]:
    """Return (walk minutes, index) of the nearest site, however far."""
    return min(
        (
            walk_minutes(
                group.latitude,
                group.longitude,
                s.latitude,
                s.longitude,
                speed_kmh=rules.walk_speed_kmh,
                detour=rules.walk_detour,
            ),
            i,
        )
        for i, s in enumerate(sites)
    )


def _try_level(
    level: float,
    groups: Sequence[Group],
    order: Sequence[int],
    reach: dict[str, list[tuple[float, int]]],
    sites: Sequence[SiteSpec],
    rules: ScheduleRules,
    n_slots: int,
    reserve: dict[int, int],
    balance: bool = False,
) -> Plan | dict[int, int] | None:
    """Return a plan keeping every slot's expected queue <= level; else, per site whose
    slots would not take its groups, the people left out; None when a group fits nowhere.

    A site's green people take whole slots of their own (the last one's spare room is
    lost), which the assignment counts as it goes. Whole groups never fill the other
    slots exactly either: `reserve[site]` people are kept back for that, none at first;
    the caller adds what packing left out and tries again.
    """
    caps = [slot_capacity(s, rules, level) for s in sites]
    chosen = _assign_nearest(groups, order, reach, caps, n_slots, reserve)
    if chosen is None:
        return None
    by_site: dict[int, list[int]] = defaultdict(list)
    for gi, si in enumerate(chosen):
        by_site[si].append(gi)
    plan = Plan(feasible=True, slots=[])
    failed: dict[int, int] = {}
    packed: list[tuple[int, list[int], dict[int, int], dict[int, int]]] = []
    for si, members in by_site.items():
        cap = caps[si]
        # Green channel: the first slots of the day, for green people only, largest group
        # first into the first of them with room (a new one when none has).
        green_of: dict[int, int] = {}
        loads = [0] * n_slots
        opened = 0
        for gi in sorted(members, key=lambda i: -groups[i].green):
            g = groups[gi]
            if not g.green:
                continue
            slot_i = next((i for i in range(opened) if loads[i] + g.green <= cap), opened)
            if slot_i >= n_slots:
                continue
            opened = max(opened, slot_i + 1)
            loads[slot_i] += g.green
            green_of[gi] = slot_i
        if opened > 1:
            # First fit leaves all green slots but the last at the level, the site's peak.
            _spread_green(groups, green_of, loads, opened)
        used_green = set(green_of.values())
        regular = [i for i in range(n_slots) if i not in used_green]
        walkers = sorted(
            (gi for gi in members if groups[gi].people), key=lambda i: -groups[i].people
        )
        slot_of = _pack(walkers, groups, regular, loads, cap, balance)
        left_out = sum(groups[gi].green for gi in members if gi not in green_of) + sum(
            groups[gi].people for gi in members if groups[gi].people and gi not in slot_of
        )
        if left_out:
            failed[si] = left_out
            continue
        site = sites[si]
        plan.loads[site.id] = loads
        plan.green_slots[site.id] = sorted(used_green)
        packed.append((si, members, slot_of, green_of))
    if failed:
        # Most tries fail somewhere: the assignments are written only for a whole plan.
        return failed
    for si, members, slot_of, green_of in packed:
        for gi in members:
            g = groups[gi]
            plan.assignments.append(
                Assignment(
                    group=g.key,
                    site=sites[si].id,
                    slot=slot_of.get(gi, -1),
                    green_slot=green_of.get(gi),
                    walk_minutes=round(next(m for m, i in reach[g.key] if i == si), 2),
                )
            )
    return plan


def _spread_green(
    groups: Sequence[Group], green_of: dict[int, int], loads: list[int], slots: int
) -> None:
    """Even out the green slots 0..slots-1: move a group from the fullest to the emptiest
    while that lowers the fullest. Every move lowers the sum of squared loads, so it ends,
    and no slot ever gets fuller than the fullest was, so first fit's room still holds.
    """
    members: list[list[int]] = [[] for _ in range(slots)]
    for gi, i in green_of.items():
        members[i].append(gi)
    while True:
        full = max(range(slots), key=loads.__getitem__)
        empty = min(range(slots), key=loads.__getitem__)
        gap = loads[full] - loads[empty]
        movable = [gi for gi in members[full] if groups[gi].green < gap]
        if not movable:
            return
        # The move that leaves the two slots closest to even.
        gi = min(movable, key=lambda i: abs(gap - 2 * groups[i].green))
        members[full].remove(gi)
        members[empty].append(gi)
        loads[full] -= groups[gi].green
        loads[empty] += groups[gi].green
        green_of[gi] = empty


def _assign_nearest(
    groups: Sequence[Group],
    order: Sequence[int],
    reach: dict[str, list[tuple[float, int]]],
    caps: Sequence[int],
    n_slots: int,
    reserve: dict[int, int],
) -> list[int] | None:
    """Return each group's site index: the nearest in reach with room, most constrained
    groups first; None when a group finds no room. Least walking when room is ample.

    Room counts the green channel's whole slots: a site with G green people gives
    ceil(G / cap) slots to them alone, and its walk-ins share what is left.
    """
    green = [0] * len(caps)
    walk_ins = [0] * len(caps)
    chosen: list[int] = [-1] * len(groups)
    for gi in order:
        g = groups[gi]
        for _, si in reach[g.key]:
            cap = caps[si]
            if g.people > cap or g.green > cap:
                continue
            # With no room in a slot only groups of nobody get here, and they need none.
            green_slots = -(-(green[si] + g.green) // cap) if cap else 0
            if walk_ins[si] + g.people + reserve.get(si, 0) <= (n_slots - green_slots) * cap:
                green[si] += g.green
                walk_ins[si] += g.people
                chosen[gi] = si
                break
        else:
            return None
    return chosen


def _pack(
    walkers: Sequence[int],
    groups: Sequence[Group],
    regular: Sequence[int],
    loads: list[int],
    cap: int,
    balance: bool,
) -> dict[int, int]:
    """Put groups (largest first) into slots; return group index -> slot for those placed.

    First fit in time order fills a site from the morning and wastes least room, so the
    search over levels uses it. With `balance`, each group goes to the emptiest slot
    instead (lower queues all day); if that leaves a group out, first fit is kept.
    """
    if balance:
        trial = list(loads)
        heap = [(trial[i], i) for i in regular]
        heapq.heapify(heap)
        placed: dict[int, int] = {}
        for gi in walkers:
            load, i = heapq.heappop(heap)
            if load + groups[gi].people > cap:
                break
            trial[i] = load + groups[gi].people
            placed[gi] = i
            heapq.heappush(heap, (trial[i], i))
        else:
            loads[:] = trial
            return placed
    placed = {}
    for gi in walkers:
        people = groups[gi].people
        for i in regular:
            if loads[i] + people <= cap:
                loads[i] += people
                placed[gi] = i
                break
        # A group that fits nowhere is left out; smaller ones may still fill the gaps, so
        # what is left out is what the site really lacks room for.
    return placed


def lower_bound(
    groups: Sequence[Group],
    reach: dict[str, list[tuple[float, int]]],
    sites: Sequence[SiteSpec],
    rules: ScheduleRules,
    n_slots: int,
) -> float:
    """Return a lower bound on the peak expected queue of any plan.

    The better of `simple_bound` and `flow_bound`: the flow bound sees walking limits, the
    simple ones keep a group in one slot, which the flow lets split.
    """
    return max(
        simple_bound(groups, reach, sites, rules, n_slots),
        flow_bound(groups, reach, sites, rules, n_slots),
    )


def simple_bound(
    groups: Sequence[Group],
    reach: dict[str, list[tuple[float, int]]],
    sites: Sequence[SiteSpec],
    rules: ScheduleRules,
    n_slots: int,
) -> float:
    """Return the best of three quick relaxations of the peak expected queue.

    Each valid alone: (1) all people spread evenly over every site and slot, (2) a site's
    load from groups that can reach no other site spread evenly over its slots, (3) each
    group's people in one slot of its best site.
    """
    if not sites or not n_slots:
        return 0.0
    full = [s.stations * s.per_station_hour * rules.slot_minutes / 60.0 for s in sites]
    total = sum(g.people + g.green for g in groups)

    def spread(level: float) -> float:
        return sum(
            max_load_for_queue(level, s.stations) * f * n_slots
            for s, f in zip(sites, full, strict=True)
        )

    lb1 = 0.0
    if total > 0:
        lo, hi = 0.0, 1.0
        while spread(hi) < total and hi < 1e9:
            hi *= 2
        for _ in range(50):
            mid = (lo + hi) / 2
            if spread(mid) >= total:
                hi = mid
            else:
                lo = mid
        lb1 = lo
    forced: dict[int, int] = defaultdict(int)
    lb3 = 0.0
    for g in groups:
        options = reach[g.key]
        if len(options) == 1:
            forced[options[0][1]] += g.people + g.green
        if options:
            lb3 = max(
                lb3,
                min(
                    expected_queue(max(g.people, g.green) / full[i], sites[i].stations)
                    for _, i in options
                ),
            )
    lb2 = max(
        (
            expected_queue(load / (full[i] * n_slots), sites[i].stations)
            for i, load in forced.items()
        ),
        default=0.0,
    )
    return max(lb1, lb2, lb3)


def most_people_in_slot(site: SiteSpec, rules: ScheduleRules, level: float) -> int:
    """Return the largest whole number of people whose slot at the site queues <= level.

    `slot_capacity` goes through a numerical inverse of the queue formula and may land one
    person low (its load is shaded by 1e-12 below the root), which would make a bound
    built on it exceed a plan sitting exactly at a breakpoint. This steps from it to the
    exact count by the same `slot_queue` the plans' peaks are measured with.
    """
    people = slot_capacity(site, rules, level)
    while people > 0 and slot_queue(site, rules, people) > level:
        people -= 1
    # slot_queue is infinite from the slot's full throughput on, so this stops there.
    while slot_queue(site, rules, people + 1) <= level:
        people += 1
    return people


def flow_bound(
    groups: Sequence[Group],
    reach: dict[str, list[tuple[float, int]]],
    sites: Sequence[SiteSpec],
    rules: ScheduleRules,
    n_slots: int,
    *,
    iterations: int = 60,
) -> float:
    """Return the transportation (max-flow) relaxation's bound on the peak expected queue.

    Relaxed: a group's people may split over the sites in its walking reach and over their
    slots, and the green channel may use any slot. Kept: walking limits, the slots, and the
    queue level per slot. At a level L a site takes at most n_slots x
    `most_people_in_slot(L)`; L is feasible when the max flow source -> group (its people)
    -> site in reach (unbounded) -> sink (the site's people at L) carries everyone.

    Why the answer is a lower bound: any plan with peak P has every slot's people p with
    slot_queue(p) <= P, so p <= most_people_in_slot(P) and the plan is a flow at level P;
    the flow is therefore feasible at every level >= the plan's peak. The level returned is
    one the flow was seen to be infeasible at (or 0), so every plan's peak lies above it.
    Capacity only grows with L, so the bisection closes on the true breakpoint from below.
    Groups with the same reach are one node: that changes no flow, and at 1 M residents it
    shrinks the graph.
    """
    from ortools.graph.python import max_flow  # heavy import, only where a bound is made

    demand: dict[tuple[int, ...], int] = defaultdict(int)
    for g in groups:
        options = reach[g.key]
        # A group with no site in reach has no plan at all; the caller reports it.
        if options and g.people + g.green:
            demand[tuple(sorted(i for _, i in options))] += g.people + g.green
    total = sum(demand.values())
    if not sites or not n_slots or not total:
        return 0.0
    source, sink = 0, 1
    solver = max_flow.SimpleMaxFlow()
    for cls, (members, people) in enumerate(demand.items()):
        node = 2 + len(sites) + cls
        solver.add_arc_with_capacity(source, node, people)
        for si in members:
            solver.add_arc_with_capacity(node, 2 + si, people)
    site_arcs = [solver.add_arc_with_capacity(2 + si, sink, 0) for si in range(len(sites))]

    def feasible(level: float) -> bool:
        # Sites alike in stations and throughput take alike: one queue inversion for each.
        per_slot: dict[tuple[int, float], int] = {}
        for site, arc in zip(sites, site_arcs, strict=True):
            kind = (site.stations, site.per_station_hour)
            if kind not in per_slot:
                per_slot[kind] = most_people_in_slot(site, rules, level)
            solver.set_arc_capacity(arc, n_slots * per_slot[kind])
        if solver.solve(source, sink) != solver.OPTIMAL:
            raise RuntimeError("max flow failed on the schedule bound")  # pragma: no cover
        return bool(solver.optimal_flow() >= total)

    lo, hi = 0.0, max(rules.queue_cap, 1.0)
    if feasible(lo):
        return 0.0
    while not feasible(hi):
        lo = hi
        if hi >= 1e9:
            # No level up to here carries everyone: the sites cannot take these people.
            return lo
        hi *= 2
    for _ in range(iterations):
        if hi - lo <= 1e-9 * hi:
            break
        mid = (lo + hi) / 2
        if feasible(mid):
            hi = mid
        else:
            lo = mid
    return lo


def plan_schedule(
    groups: Sequence[Group],
    sites: Sequence[SiteSpec],
    slots: Sequence[Slot],
    rules: ScheduleRules,
    *,
    iterations: int = 14,
) -> Plan:
    """Return the plan with the lowest peak expected queue found, then the least walking."""
    plan = Plan(feasible=False, slots=list(slots))
    if not sites:
        plan.problems.append(Problem("no_sites", "本轮次没有采样点", "the round has no sites"))
        return plan
    if not slots:
        plan.problems.append(
            Problem(
                "no_slots",
                "开放时间与截止时间之间没有完整的时段",
                "no whole slot between the opening hours and the deadline",
            )
        )
        return plan
    reach = reachable_sites(groups, sites, rules)
    for g in groups:
        if not reach[g.key]:
            minutes, i = nearest_site(g, sites, rules)
            plan.problems.append(
                Problem(
                    "out_of_reach",
                    f"{g.label} 步行 {rules.walk_limit_minutes:g} 分钟内没有采样点"
                    f"(最近的 {sites[i].name} 需 {minutes:.0f} 分钟)",
                    f"{g.label} has no site within {rules.walk_limit_minutes:g} min on foot "
                    f"(nearest {sites[i].code} is {minutes:.0f} min)",
                    site=sites[i].code,
                    group=g.key,
                )
            )
    if plan.problems:
        return plan
    n = len(slots)
    order = sorted(
        range(len(groups)),
        key=lambda i: (len(reach[groups[i].key]), -(groups[i].people + groups[i].green)),
    )
    bound = lower_bound(groups, reach, sites, rules, n)
    # Kept across levels: what packing could not place at a site stays held back there.
    reserve: dict[int, int] = {}

    def fit(level: float) -> Plan | None:
        # Hold back, at a site whose packing failed, the people it left out; try again.
        for _ in range(n + 1):
            outcome = _try_level(level, groups, order, reach, sites, rules, n, reserve)
            if outcome is None or isinstance(outcome, Plan):
                return outcome
            for si, left_out in outcome.items():
                reserve[si] = reserve.get(si, 0) + left_out
        return None

    best = fit(rules.queue_cap)
    if best is None:
        plan.problems.extend(_explain_capacity(groups, reach, sites, slots, rules))
        return plan
    lo, hi = bound, rules.queue_cap
    # A bound some plan attains ends the search at once (on the demo district the largest
    # group alone in a slot sets both). Tried a hair above it: slot_capacity's numerical
    # inverse may fall a person short exactly at the bound.
    near = bound * (1 + 1e-6)
    if near < hi:
        trial = fit(near)
        if trial is not None:
            best, hi = trial, near
    for _ in range(iterations):
        if hi - lo <= max(1e-3, 0.01 * hi):
            break
        mid = (lo + hi) / 2
        trial = fit(mid)
        if trial is None:
            lo = mid
        else:
            best, hi = trial, mid
    # The level found, packed again to spread each site's people over its slots.
    balanced = _try_level(hi, groups, order, reach, sites, rules, n, reserve, balance=True)
    if isinstance(balanced, Plan):
        best = balanced
    by_id = {s.id: s for s in sites}
    best.slots = list(slots)
    best.level = hi
    best.peak_queue = max(
        (
            slot_queue(by_id[sid], rules, people)
            for sid, loads in best.loads.items()
            for people in loads
        ),
        default=0.0,
    )
    people_of = {g.key: g.people + g.green for g in groups}
    best.walking_person_minutes = sum(a.walk_minutes * people_of[a.group] for a in best.assignments)
    best.lower_bound = bound
    best.gap = (
        max(0.0, best.peak_queue - best.lower_bound) / best.peak_queue if best.peak_queue else 0.0
    )
    return best


def _explain_capacity(
    groups: Sequence[Group],
    reach: dict[str, list[tuple[float, int]]],
    sites: Sequence[SiteSpec],
    slots: Sequence[Slot],
    rules: ScheduleRules,
) -> list[Problem]:
    """Say which sites lack stations: each group goes to its nearest site, loads compared."""
    load: dict[int, int] = defaultdict(int)
    for g in groups:
        load[reach[g.key][0][1]] += g.people + g.green
    end = slots[-1].ends.astimezone(CHINA)
    last_zh = f"{end.month}月{end.day}日 {end:%H:%M}"
    last_en = f"{end:%m-%d %H:%M}"
    problems: list[Problem] = []
    for si, people in sorted(load.items()):
        site = sites[si]
        if slot_capacity(site, rules, rules.queue_cap) * len(slots) >= people * 1.02:
            continue
        extra = 1
        while extra < 10_000:
            bigger = SiteSpec(
                site.id,
                site.code,
                site.name,
                site.latitude,
                site.longitude,
                site.stations + extra,
                site.per_station_hour,
            )
            if slot_capacity(bigger, rules, rules.queue_cap) * len(slots) >= people * 1.02:
                break
            extra += 1
        problems.append(
            Problem(
                "site_short",
                f"采样点 {site.name} 需要再增加 {extra} 个采样台才能在 {last_zh} 前完成"
                f"(约 {people} 人)",
                f"site {site.code} needs {extra} more stations to finish by {last_en} "
                f"(about {people} people)",
                site=site.code,
                more_stations=extra,
            )
        )
    if not problems:
        problems.append(
            Problem(
                "no_fit",
                "各采样点的总能力够,但按楼栋分组排不进时段:请调小分组人数或放宽排队上限",
                "the sites have the capacity in total but the groups do not fit the slots: "
                "make groups smaller or raise the queue cap",
            )
        )
    return problems


# --- door-to-door --------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeTask:
    """A bedridden or disabled resident to sample at home."""

    resident_id: int
    name: str  # masked for the list
    building_label: str
    room: str
    reason: str
    latitude: float
    longitude: float
    sort_key: str


@dataclass(frozen=True)
class Route:
    """One home-sampling team's visits, in order, with an estimated duration."""

    team: int
    tasks: tuple[HomeTask, ...]
    minutes: float


def home_routes(
    tasks: Sequence[HomeTask],
    *,
    per_team: int,
    visit_minutes: float,
    walk_speed_kmh: float,
    walk_detour: float,
) -> list[Route]:
    """Group home visits into team routes: neighbouring buildings together, nearest next.

    Tasks are kept in area order (community, compound, building, room) so a team stays in
    one neighbourhood; each team takes up to `per_team` visits and walks them nearest first.
    """
    ordered = sorted(tasks, key=lambda t: (t.sort_key, t.room))
    routes: list[Route] = []
    for start in range(0, len(ordered), max(1, per_team)):
        chunk = list(ordered[start : start + per_team])
        path = [chunk.pop(0)]
        while chunk:
            here = path[-1]
            j = min(
                range(len(chunk)),
                key=lambda k: (
                    (chunk[k].latitude - here.latitude) ** 2
                    + (chunk[k].longitude - here.longitude) ** 2,
                    chunk[k].room,
                ),
            )
            path.append(chunk.pop(j))
        walking = sum(
            walk_minutes(
                a.latitude,
                a.longitude,
                b.latitude,
                b.longitude,
                speed_kmh=walk_speed_kmh,
                detour=walk_detour,
            )
            for a, b in itertools.pairwise(path)
        )
        routes.append(
            Route(
                team=len(routes) + 1, tasks=tuple(path), minutes=len(path) * visit_minutes + walking
            )
        )
    return routes


def place_sites(
    places: Sequence[tuple[float, float, int]], rules: ScheduleRules, count: int
) -> list[int]:
    """Return indexes of `places` (lat, lon, people) to open sites at, so every place has one
    within walking distance and the people are shared out as evenly as `count` allows.

    Coverage first (largest places first, a site wherever none is in reach), then each
    extra site goes where the fewest sites serve the most people. Used by the benchmark
    and by tests to lay out a round; a real round's sites come from `screening site add`.
    """
    order = sorted(range(len(places)), key=lambda i: -places[i][2])
    chosen: list[int] = []

    def minutes(i: int, j: int) -> float:
        return walk_minutes(
            places[i][0],
            places[i][1],
            places[j][0],
            places[j][1],
            speed_kmh=rules.walk_speed_kmh,
            detour=rules.walk_detour,
        )

    cell = rules.walk_limit_minutes * rules.walk_speed_kmh * 1000 / 60 / rules.walk_detour
    cell_deg = max(cell / 111_000.0, 1e-6)
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)

    def key(i: int) -> tuple[int, int]:
        return int(places[i][0] // cell_deg), int(places[i][1] // cell_deg)

    for i in order:
        gy, gx = key(i)
        covered = any(
            minutes(i, j) <= rules.walk_limit_minutes
            for dy in (-1, 0, 1)
            for dx in (-2, -1, 0, 1, 2)
            for j in grid.get((gy + dy, gx + dx), ())
        )
        if not covered:
            chosen.append(i)
            grid[(gy, gx)].append(i)
    # Each place's people count towards its nearest covering site; extra sites go beside the
    # site with the most people per site (a second site there is more stations in effect).
    catchment: dict[int, int] = defaultdict(int)
    for i in range(len(places)):
        gy, gx = key(i)
        best = min(
            (
                (minutes(i, j), j)
                for dy in (-1, 0, 1)
                for dx in (-2, -1, 0, 1, 2)
                for j in grid.get((gy + dy, gx + dx), ())
            ),
            default=(0.0, i),
        )
        catchment[best[1]] += places[i][2]
    sites_at: dict[int, int] = defaultdict(int)
    for i in chosen:
        sites_at[i] += 1
    heap = [(-catchment[i] / 2, i) for i in set(chosen)]
    heapq.heapify(heap)
    while len(chosen) < count and heap:
        _, i = heapq.heappop(heap)
        chosen.append(i)
        sites_at[i] += 1
        heapq.heappush(heap, (-catchment[i] / (sites_at[i] + 1), i))
    return chosen
