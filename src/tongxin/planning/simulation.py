"""A SimPy discrete-event simulation of a round, by cohorts rather than by person.

A 10-million-person round cannot be one process per person in under a minute, so:

- each site is one process that ticks every `step_minutes`; the people who arrive in a
  step form one cohort (time, count) in the site's FIFO queue, and the stations serve as
  many people as their swab times allow in that step (a renewal count: mean step/swab per
  station, spread by the swab-time variability);
- served people become tube cohorts waiting at the site; each courier circuit (a few
  sites) is a process that every cadence takes a vehicle from a shared SimPy Resource,
  loads what waits (up to its boxes), rides to the lab and comes back; a last sweep runs
  as soon as its sites close;
- the lab is a dispatcher that starts a run when a full batch waits, when the oldest tube
  has waited one run, or when the last delivery is in, on as many parallel runs as its
  capacity gives, and only while the lab is open.

Queues are therefore resolved per step, not within one: at zero variability the model is
the fluid model of `capacity` and both agree (tests/unit/planning state the tolerance).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from tongxin.planning.capacity import (
    TRANSPORT_LIMIT_HOURS,
    CapacityResult,
    RoundInputs,
    analyse,
    lab_parallel_runs,
    people_per_tube,
    recall_workload,
)
from tongxin.planning.rules import PlanningError


def weighted_percentiles(
    pairs: Sequence[tuple[float, float]], quantiles: Sequence[float]
) -> list[float]:
    """Return the values at each quantile of (value, weight) pairs (0 when empty)."""
    weights: dict[float, float] = defaultdict(float)
    for value, weight in pairs:
        if weight > 0:
            weights[value] += weight
    if not weights:
        return [0.0 for _ in quantiles]
    values = sorted(weights)
    cumulative = list(accumulate(weights[v] for v in values))
    total = cumulative[-1]
    return [
        values[min(len(values) - 1, bisect_left(cumulative, q * total - 1e-9))] for q in quantiles
    ]


@dataclass
class _Site:
    index: int
    people: float
    queue: deque[list[float]]
    waiting: float = 0.0
    tubes: deque[list[float]] | None = None
    done_at: float = -1.0
    pending: float = 0.0  # tubes waiting at the site for a courier
    queue_samples: list[float] | None = None
    wait_pairs: list[tuple[float, float]] | None = None


def _noisy(rng: random.Random, mean: float, cv: float) -> float:
    """Return mean spread by a coefficient of variation (normal, never below 0)."""
    if cv <= 0 or mean <= 0:
        return mean
    return max(0.0, rng.gauss(mean, cv * math.sqrt(mean)))


def simulate(
    inputs: RoundInputs,
    *,
    seed: int = 1,
    step_minutes: float = 5.0,
    sites_listed: int = 20,
    max_events: int | None = None,
) -> CapacityResult:
    """Run the round in SimPy and return what it saw, in the analytic result's shape.

    With `max_events`, give up (PlanningError `too_large`) rather than process more SimPy
    events than that: a web request must answer, whatever inputs it was sent.
    """
    import simpy

    inputs = inputs.checked()
    rng = random.Random(seed)
    env = simpy.Environment()
    cv = inputs.swab_cv
    window = inputs.sampling_hours * 60.0
    ppt = people_per_tube(inputs.pool_mix)
    per_station_step = step_minutes * 60.0 / inputs.swab_seconds
    service_mean = inputs.stations_per_site * per_station_step
    base, extra = divmod(inputs.population, inputs.sites)
    sites = [
        _Site(
            index=i,
            people=float(base + (1 if i < extra else 0)),
            queue=deque(),
            tubes=deque(),
            queue_samples=[],
            wait_pairs=[],
        )
        for i in range(inputs.sites)
    ]
    circuits = [
        sites[i : i + inputs.sites_per_trip] for i in range(0, len(sites), inputs.sites_per_trip)
    ]
    closed_events = [env.event() for _ in circuits]
    open_in_circuit = [len(c) for c in circuits]
    circuit_of = {s.index: ci for ci, c in enumerate(circuits) for s in c}
    vehicles = simpy.Resource(env, capacity=inputs.vehicles)
    lab_queue: deque[list[float]] = deque()  # [sampled_at, received_at, tubes]
    state = {"deliveries_open": len(circuits)}
    wake: list[simpy.Event] = [env.event()]
    transport_pairs: list[tuple[float, float]] = []
    turnaround_pairs: list[tuple[float, float]] = []
    last = {"sampling": 0.0, "transport": 0.0, "lab": 0.0}

    def poke() -> None:
        if not wake[0].triggered:
            wake[0].succeed()

    def site_process(site: _Site):
        steps = max(1, math.ceil(window / step_minutes))
        per_step = site.people / steps
        remaining = site.people
        k = 0
        assert site.tubes is not None and site.queue_samples is not None
        assert site.wait_pairs is not None
        while remaining > 1e-9 or site.waiting > 1e-9:
            now = env.now
            arrived = 0.0
            if remaining > 1e-9:
                arrived = min(remaining, _noisy(rng, per_step, 1.0 if cv > 0 else 0.0))
                if k == steps - 1:
                    arrived = remaining
                remaining -= arrived
                site.queue.append([now, arrived])
                site.waiting += arrived
            k += 1
            capacity = _noisy(rng, service_mean, cv)
            served = min(site.waiting, capacity)
            left = served
            while left > 1e-12 and site.queue:
                cohort = site.queue[0]
                take = min(cohort[1], left)
                site.wait_pairs.append((now - cohort[0], take))
                cohort[1] -= take
                left -= take
                if cohort[1] <= 1e-12:
                    site.queue.popleft()
            site.waiting -= served
            if served > 0:
                site.tubes.append([now + step_minutes / 2, served / ppt])
                site.pending += served / ppt
            site.queue_samples.append(site.waiting)
            if remaining <= 1e-9 and site.waiting <= 1e-9:
                # People arrive through a step, so an arrival-bound site closes at its end;
                # a site working off its backlog closes part-way through.
                if arrived > 1e-12 or capacity <= 0:
                    site.done_at = now + step_minutes
                else:
                    site.done_at = now + step_minutes * served / capacity
                last["sampling"] = max(last["sampling"], site.done_at)
                ci = circuit_of[site.index]
                open_in_circuit[ci] -= 1
                if open_in_circuit[ci] == 0:
                    closed_events[ci].succeed()
                return
            yield env.timeout(step_minutes)

    trip_minutes = 2 * inputs.travel_minutes + inputs.sites_per_trip * inputs.stop_minutes
    load_cap = inputs.boxes_per_vehicle * inputs.box_tubes

    def circuit_process(ci: int):
        members = circuits[ci]
        closed = closed_events[ci]
        while True:
            if not closed.triggered:
                yield env.any_of([env.timeout(inputs.courier_cadence_minutes), closed])
            pending = sum(s.pending for s in members)
            if closed.triggered and pending <= 1e-9:
                break
            if pending <= 1e-9:
                continue
            with vehicles.request() as req:
                yield req
                room = float(load_cap)
                load: list[list[float]] = []
                for s in members:
                    assert s.tubes is not None
                    while room > 1e-9 and s.tubes:
                        cohort = s.tubes[0]
                        take = min(cohort[1], room)
                        load.append([cohort[0], take])
                        cohort[1] -= take
                        s.pending -= take
                        room -= take
                        if cohort[1] <= 1e-12:
                            s.tubes.popleft()
                travel = inputs.travel_minutes
                if cv > 0:
                    travel = max(0.0, rng.gauss(travel, travel * cv))
                yield env.timeout(travel)
                for sampled_at, tubes in load:
                    lab_queue.append([sampled_at, env.now, tubes])
                    transport_pairs.append((env.now - sampled_at, tubes))
                last["transport"] = max(last["transport"], env.now)
                finished = closed.triggered and not any(s.tubes for s in members)
                if finished:
                    # The lab may flush its last short batch now, not when the van is back.
                    state["deliveries_open"] -= 1
                poke()
                yield env.timeout(max(0.0, trip_minutes - travel))
            if finished:
                return
        state["deliveries_open"] -= 1
        poke()

    runs = simpy.Resource(env, capacity=lab_parallel_runs(inputs))
    open_minutes = inputs.lab_open_hours * 60.0

    def lab_run(batch: list[list[float]]):
        with runs.request() as req:
            yield req
            yield env.timeout(inputs.lab_batch_minutes)
            for _, received_at, tubes in batch:
                turnaround_pairs.append((env.now - received_at, tubes))
            last["lab"] = max(last["lab"], env.now)
            poke()

    def lab_dispatcher():
        while True:
            waiting = sum(c[2] for c in lab_queue)
            if waiting <= 1e-9 and state["deliveries_open"] == 0:
                return
            day_minute = env.now % 1440.0
            is_open = day_minute < open_minutes
            oldest = env.now - lab_queue[0][1] if lab_queue else 0.0
            full = waiting >= inputs.lab_batch_size - 1e-9
            flush = waiting > 1e-9 and (
                state["deliveries_open"] == 0 or oldest >= inputs.lab_batch_minutes
            )
            if is_open and (full or flush) and runs.count < runs.capacity:
                room = float(inputs.lab_batch_size)
                batch: list[list[float]] = []
                while room > 1e-9 and lab_queue:
                    cohort = lab_queue[0]
                    take = min(cohort[2], room)
                    batch.append([cohort[0], cohort[1], take])
                    cohort[2] -= take
                    room -= take
                    if cohort[2] <= 1e-12:
                        lab_queue.popleft()
                env.process(lab_run(batch))
                # Let the run take its slot before deciding on the next batch.
                yield env.timeout(0)
                continue
            wake[0] = env.event()
            timers = [wake[0]]
            if not is_open:
                timers.append(env.timeout(1440.0 - day_minute))
            elif waiting > 1e-9 and not full:
                timers.append(env.timeout(max(0.0, inputs.lab_batch_minutes - oldest)))
            yield env.any_of(timers)

    for site in sites:
        env.process(site_process(site))
    for ci in range(len(circuits)):
        env.process(circuit_process(ci))
    env.process(lab_dispatcher())
    if max_events is None:
        env.run()
    else:
        for _ in range(max_events):
            try:
                env.step()
            except simpy.core.EmptySchedule:
                break
        else:
            if env.peek() != simpy.core.Infinity:
                raise PlanningError(
                    "too_large",
                    "simulate",
                    f"more than {max_events} simulation steps; "
                    "use `tongxin plan capacity --simulate`",
                )

    analytic = analyse(inputs)
    sampling_h = last["sampling"] / 60.0
    transport_h = last["transport"] / 60.0
    lab_h = last["lab"] / 60.0
    results_h = lab_h + inputs.reporting_minutes / 60.0
    # The bottleneck is the stage that added the most time beyond what it needs anyway
    # (the window, one ride, one run); when none added more than a step, it is the window.
    excess = {
        "sampling": sampling_h - inputs.sampling_hours,
        "transport": transport_h - sampling_h - inputs.travel_minutes / 60.0,
        "lab": lab_h - transport_h - inputs.lab_batch_minutes / 60.0,
    }
    bottleneck = max(excess, key=lambda k: excess[k])
    if excess[bottleneck] <= step_minutes / 60.0:
        bottleneck = "sampling_window"
    all_queue: list[tuple[float, float]] = []
    all_wait: list[tuple[float, float]] = []
    per_site: list[dict[str, object]] = []
    for site in sites:
        assert site.queue_samples is not None and site.wait_pairs is not None
        q50, q90, qmax = weighted_percentiles([(q, 1.0) for q in site.queue_samples], (0.5, 0.9, 1))
        w50, w90 = weighted_percentiles(site.wait_pairs, (0.5, 0.9))
        per_site.append(
            {
                "site": site.index + 1,
                "queue_p50": round(q50, 1),
                "queue_p90": round(q90, 1),
                "queue_max": round(qmax, 1),
                "wait_p50_minutes": round(w50, 1),
                "wait_p90_minutes": round(w90, 1),
            }
        )
        all_queue.extend((q, 1.0) for q in site.queue_samples)
        all_wait.extend(site.wait_pairs)
    # The rows are dict[str, object]; queue_max is the float set just above.
    per_site.sort(key=lambda r: -float(r["queue_max"]))  # type: ignore[arg-type]
    q50, q90, qmax = weighted_percentiles(all_queue, (0.5, 0.9, 1.0))
    w50, w90, w99 = weighted_percentiles(all_wait, (0.5, 0.9, 0.99))
    received = sum(w for _, w in transport_pairs)
    over = sum(w for d, w in transport_pairs if d > TRANSPORT_LIMIT_HOURS * 60) / max(received, 1)
    t50, t90, t99 = weighted_percentiles(turnaround_pairs, (0.5, 0.9, 0.99))
    recall = recall_workload(inputs) if cv == 0 else _drawn_recall(inputs, rng)
    return CapacityResult(
        model="simulation",
        stage_completion_hours={
            "sampling": sampling_h,
            "transport": transport_h,
            "lab": lab_h,
            "results": results_h,
        },
        bottleneck=bottleneck,
        stage_rates_people_per_hour=analytic.stage_rates_people_per_hour,
        tubes=round(sum(w for _, w in turnaround_pairs), 1),
        people_per_tube=round(ppt, 3),
        queue={
            "p50": round(q50, 1),
            "p90": round(q90, 1),
            "max_queue": round(qmax, 1),
            "wait_p50_minutes": round(w50, 1),
            "wait_p90_minutes": round(w90, 1),
            "wait_p99_minutes": round(w99, 1),
            # CapacityResult.queue is dict[str, float]; this one entry is the site list.
            "sites": per_site[:sites_listed],  # type: ignore[dict-item]
        },
        over_4h_share=round(over, 4),
        lab_turnaround_hours={
            "p50": round(t50 / 60, 3),
            "p90": round(t90 / 60, 3),
            "p99": round(t99 / 60, 3),
        },
        recall=recall,
        meets_deadline=results_h <= inputs.deadline_hours,
        resources=analytic.resources,
    )


def _drawn_recall(inputs: RoundInputs, rng: random.Random) -> dict[str, float]:
    """Return positive tubes and recalls drawn at random (normal approximation per size)."""
    positive_tubes = 0.0
    people = 0.0
    for size, share in inputs.pool_mix.items():
        tubes = inputs.population * share / size
        chance = 1.0 - (1.0 - inputs.prevalence) ** size
        mean = tubes * chance
        drawn = max(0.0, round(rng.gauss(mean, math.sqrt(mean * (1 - chance)) if mean else 0)))
        positive_tubes += drawn
        people += drawn * size
    return {"positive_tubes": positive_tubes, "people_to_recall": people, "home_visits": people}
