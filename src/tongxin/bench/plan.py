"""`tongxin bench plan`: the staggered schedule at 1 M residents / 400 sites and a 10 M
simulated round.

The schedule runs on a synthetic district built in memory from the demo generator's
geography (streets, communities, compounds with coordinates); each compound is cut into
building groups of 20-60 people with a fifth in the green channel, and sites are placed
with `planning.scheduler.place_sites`. No database: the benchmark times the planner.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import replace
from datetime import datetime, timedelta
from datetime import time as clock_time
from random import Random
from typing import Any

from tongxin.demo.generator import plan_district
from tongxin.planning.capacity import RoundInputs
from tongxin.planning.scheduler import (
    CHINA,
    Group,
    ScheduleRules,
    SiteSpec,
    opening_slots,
    place_sites,
    plan_schedule,
    reachable_sites,
)
from tongxin.planning.simulation import simulate

BENCH_RULES = ScheduleRules(
    slot_minutes=30, queue_cap=15.0, walk_limit_minutes=15.0, walk_speed_kmh=4.5, walk_detour=1.3
)


def synthetic_groups(residents: int, seed: int) -> list[Group]:
    """Return building groups for a synthetic district of `residents` people."""
    rng = Random(seed)
    district = plan_district(residents, rng)
    groups: list[Group] = []
    for community in district.communities():
        for compound in community.compounds:
            left = compound.residents
            b = 0
            while left > 0:
                b += 1
                size = min(left, rng.randint(20, 60))
                left -= size
                green = round(size * rng.uniform(0.1, 0.3))
                groups.append(
                    Group(
                        key=f"{compound.code}-{b:03d}",
                        building_id=len(groups) + 1,
                        label=f"{compound.name}{b}栋",
                        latitude=compound.latitude + rng.uniform(-0.0008, 0.0008),
                        longitude=compound.longitude + rng.uniform(-0.0008, 0.0008),
                        people=size - green,
                        green=green,
                    )
                )
    return groups


def synthetic_sites(
    groups: list[Group], count: int, *, open_hours: float, per_station_hour: float
) -> list[SiteSpec]:
    """Return `count` or more sites covering every group within the walking limit.

    Each site gets stations for the people nearest to it at 70 % utilisation over the
    opening hours, as a health bureau would staff them (at least two).
    """
    places = [(g.latitude, g.longitude, g.people + g.green) for g in groups]
    chosen = place_sites(places, BENCH_RULES, count)
    specs = [
        SiteSpec(
            id=n + 1,
            code=f"S{n + 1:04d}",
            name=f"采样点{n + 1}",
            latitude=places[i][0] + 0.00001 * (n % 7),
            longitude=places[i][1],
            stations=1,
            per_station_hour=per_station_hour,
        )
        for n, i in enumerate(chosen)
    ]
    reach = reachable_sites(groups, specs, BENCH_RULES)
    load = [0] * len(specs)
    for g in groups:
        options = reach[g.key]
        # Shared out over the sites in reach, nearer ones first, as the planner will.
        near = [i for _, i in options[:3]] or [0]
        for i in near:
            load[i] += (g.people + g.green) // len(near)
    return [
        replace(
            s,
            stations=max(2, math.ceil(load[n] / (per_station_hour * open_hours * 0.7))),
        )
        for n, s in enumerate(specs)
    ]


def run_plan_bench(
    *,
    residents: int = 1_000_000,
    sites: int = 400,
    per_station_hour: float = 90.0,
    simulated_people: int = 10_000_000,
    seed: int = 20220923,
) -> dict[str, Any]:
    """Time the schedule and the simulation; return the JSON line."""
    load_before = os.getloadavg()[0]
    clock = time.perf_counter()
    groups = synthetic_groups(residents, seed)
    site_specs = synthetic_sites(groups, sites, open_hours=14.0, per_station_hour=per_station_hour)
    build_s = time.perf_counter() - clock
    start = datetime(2022, 9, 23, 7, 0, tzinfo=CHINA)
    slots = opening_slots(
        start,
        start + timedelta(hours=24),
        opens=clock_time(7, 0),
        closes=clock_time(21, 0),
        slot_minutes=BENCH_RULES.slot_minutes,
    )
    clock, cpu = time.perf_counter(), time.process_time()
    plan = plan_schedule(groups, site_specs, slots, BENCH_RULES)
    schedule_s = time.perf_counter() - clock
    schedule_cpu = time.process_time() - cpu
    # 10 M people at 20:1 over 4,000 sites (one per 2,500), a day's couriers and labs.
    sim_inputs = RoundInputs(
        population=simulated_people,
        pool_mix={20: 0.9, 10: 0.08, 1: 0.02},
        prevalence=0.0005,
        sites=simulated_people // 2_500,
        stations_per_site=4,
        swab_seconds=30.0,
        swab_cv=0.3,
        sampling_hours=12.0,
        vehicles=simulated_people // 2_500 // 4,
        lab_tubes_per_hour=80_000.0,
    )
    clock, cpu = time.perf_counter(), time.process_time()
    sim = simulate(sim_inputs, seed=seed)
    simulation_s = time.perf_counter() - clock
    simulation_cpu = time.process_time() - cpu
    return {
        "bench": "plan",
        "residents": residents,
        "groups": len(groups),
        "sites": len(site_specs),
        "stations": sum(s.stations for s in site_specs),
        "slots": len(slots),
        "feasible": plan.feasible,
        "schedule_s": round(schedule_s, 2),
        "schedule_cpu_s": round(schedule_cpu, 2),
        "peak_queue": round(plan.peak_queue, 3),
        "lower_bound": round(plan.lower_bound, 3),
        "gap": round(plan.gap, 4),
        "walking_person_minutes": round(plan.walking_person_minutes),
        "district_build_s": round(build_s, 2),
        "simulated_people": simulated_people,
        "simulated_sites": sim_inputs.sites,
        "simulation_s": round(simulation_s, 2),
        "simulation_cpu_s": round(simulation_cpu, 2),
        "simulated_results_hours": round(sim.stage_completion_hours["results"], 2),
        "simulated_bottleneck": sim.bottleneck,
        "load_before": round(load_before, 2),
    }
