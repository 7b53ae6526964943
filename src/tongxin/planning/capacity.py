"""The analytic capacity model of a round: a fluid tandem of sampling, transport and lab.

Pure: no database, no clock. Every stage is a server with a rate (people per hour) and a
fixed delay; people arrive evenly over the sampling window. A stage's work ends when its
input has ended and when its own rate has got through everyone:

    sampling   C_s = max(W, N / μ_s)
    transport  C_t = max(C_s + sweep, N / μ_t) + travel         (final sweep at closing)
    lab        C_l = max(C_t + run, first_receipt + N / μ_l)
    results    C_r = C_l + reporting

Each term only rises when a rate falls, so taking a resource away never finishes earlier
(a property test holds this). `simulation` runs the same round as a SimPy discrete-event
model with variability; at zero variability both agree (tests/unit/planning).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

from tongxin.planning.rules import (
    ALLOWED_SIZES,
    PlanningError,
    check_prevalence,
    expected_queue,
    max_load_for_queue,
)

# National rules of thumb (NHC 2022): one site per 2-3 k people, one station per 600-800,
# samplers = population / 360.
PEOPLE_PER_SITE = (2_000, 3_000)
PEOPLE_PER_STATION = (600, 800)
PEOPLE_PER_SAMPLER = 360
TRANSPORT_LIMIT_HOURS = 4.0


@dataclass(frozen=True)
class RoundInputs:
    """What a capacity question is asked about; times in hours unless named otherwise."""

    population: int
    pool_mix: Mapping[int, float] = field(default_factory=lambda: {20: 1.0})
    prevalence: float = 0.001
    sites: int = 20
    stations_per_site: int = 4
    samplers_per_station: int = 2
    swab_seconds: float = 30.0
    swab_cv: float = 0.0
    sampling_hours: float = 12.0
    box_tubes: int = 50
    courier_cadence_minutes: float = 60.0
    travel_minutes: float = 30.0
    stop_minutes: float = 5.0
    sites_per_trip: int = 4
    vehicles: int = 5
    boxes_per_vehicle: int = 20
    lab_tubes_per_hour: float = 2_000.0
    lab_batch_size: int = 96
    lab_batch_minutes: float = 150.0
    lab_open_hours: float = 24.0
    reporting_minutes: float = 30.0
    deadline_hours: float = 24.0
    queue_cap: float = 15.0

    def checked(self) -> RoundInputs:
        """Return the inputs when every field is usable, else raise PlanningError naming it."""
        if self.population < 1:
            raise PlanningError("population", "population", "population must be at least 1")
        if not self.pool_mix:
            raise PlanningError("pool_mix", "pool_mix", "pool mix is empty")
        for size, share in self.pool_mix.items():
            if size not in ALLOWED_SIZES:
                raise PlanningError(
                    "pool_size", "pool_mix", f"pool size {size} is not one of 1, 5, 10, 20"
                )
            if share < 0:
                raise PlanningError("pool_mix", "pool_mix", f"share of {size}:1 is negative")
        if abs(sum(self.pool_mix.values()) - 1.0) > 1e-6:
            raise PlanningError("pool_mix", "pool_mix", "pool mix shares must add up to 1")
        check_prevalence(self.prevalence)
        positive_ints = (
            "sites",
            "stations_per_site",
            "samplers_per_station",
            "box_tubes",
            "sites_per_trip",
            "vehicles",
            "boxes_per_vehicle",
            "lab_batch_size",
        )
        for name in positive_ints:
            if int(getattr(self, name)) < 1:
                raise PlanningError("positive", name, f"{name} must be at least 1")
        positive_floats = (
            "swab_seconds",
            "sampling_hours",
            "courier_cadence_minutes",
            "lab_tubes_per_hour",
            "lab_batch_minutes",
            "deadline_hours",
        )
        for name in positive_floats:
            if not float(getattr(self, name)) > 0:
                raise PlanningError("positive", name, f"{name} must be above 0")
        for name in ("travel_minutes", "stop_minutes", "reporting_minutes", "swab_cv"):
            if float(getattr(self, name)) < 0:
                raise PlanningError("not_negative", name, f"{name} must not be negative")
        if not 0 < self.lab_open_hours <= 24:
            raise PlanningError("lab_hours", "lab_open_hours", "lab hours must be in (0, 24]")
        if self.queue_cap <= 0:
            raise PlanningError("positive", "queue_cap", "queue cap must be above 0")
        return self

    def as_dict(self) -> dict[str, object]:
        """Return the inputs as JSON-ready data."""
        out = asdict(self)
        out["pool_mix"] = {str(k): v for k, v in self.pool_mix.items()}
        return out


def people_per_tube(mix: Mapping[int, float]) -> float:
    """Return the mean swabs per tube for a mix of pool sizes (shares of people)."""
    return 1.0 / sum(share / size for size, share in mix.items())


def tubes_needed(inputs: RoundInputs) -> float:
    """Return the expected tubes for the population and pool mix."""
    return inputs.population / people_per_tube(inputs.pool_mix)


@dataclass(frozen=True)
class Rates:
    """The rate of each stage in people per hour, and the lab's parallel runs."""

    sampling: float
    transport: float
    lab: float
    lab_parallel_runs: int


def stage_rates(inputs: RoundInputs) -> Rates:
    """Return each stage's rate; the lab and courier rates are in tubes converted to people."""
    ppt = people_per_tube(inputs.pool_mix)
    stations = inputs.sites * inputs.stations_per_site
    sampling = stations * 3600.0 / inputs.swab_seconds
    trip_h = courier_trip_hours(inputs)
    transport = inputs.vehicles * inputs.boxes_per_vehicle * inputs.box_tubes * ppt / trip_h
    runs = lab_parallel_runs(inputs)
    lab_tubes = runs * inputs.lab_batch_size / (inputs.lab_batch_minutes / 60.0)
    lab = lab_tubes * (inputs.lab_open_hours / 24.0) * ppt
    return Rates(sampling=sampling, transport=transport, lab=lab, lab_parallel_runs=runs)


def lab_parallel_runs(inputs: RoundInputs) -> int:
    """Return how many runs the lab has going at once for its stated tubes per hour."""
    per_run_hour = inputs.lab_batch_size / (inputs.lab_batch_minutes / 60.0)
    return max(1, round(inputs.lab_tubes_per_hour / per_run_hour))


def courier_circuits(inputs: RoundInputs) -> int:
    """Return the courier circuits: sites grouped `sites_per_trip` at a time."""
    return math.ceil(inputs.sites / inputs.sites_per_trip)


def courier_trip_hours(inputs: RoundInputs) -> float:
    """Return one courier circuit: out, a stop at each of its sites, and back."""
    return (2 * inputs.travel_minutes + inputs.sites_per_trip * inputs.stop_minutes) / 60.0


@dataclass(frozen=True)
class CapacityResult:
    """Completion times (hours from the round's start) and what limits them."""

    model: str
    stage_completion_hours: dict[str, float]
    bottleneck: str
    stage_rates_people_per_hour: dict[str, float]
    tubes: float
    people_per_tube: float
    queue: dict[str, float]
    over_4h_share: float
    lab_turnaround_hours: dict[str, float]
    recall: dict[str, float]
    meets_deadline: bool
    resources: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        """Return the result as JSON-ready data (hours rounded to the minute's hundredth)."""
        out = asdict(self)
        out["stage_completion_hours"] = {
            k: round(v, 3) for k, v in self.stage_completion_hours.items()
        }
        return out


def recall_workload(inputs: RoundInputs) -> dict[str, float]:
    """Return expected positive tubes, people to recall and home visits for the round."""
    p = inputs.prevalence
    positive_tubes = 0.0
    people = 0.0
    for size, share in inputs.pool_mix.items():
        tubes = inputs.population * share / size
        positive = tubes * (1.0 - (1.0 - p) ** size)
        positive_tubes += positive
        people += positive * size
    # A recalled member is isolated in place and resampled at home: one visit per person.
    return {
        "positive_tubes": round(positive_tubes, 2),
        "people_to_recall": round(people, 2),
        "home_visits": round(people, 2),
    }


def analyse(inputs: RoundInputs) -> CapacityResult:
    """Return the analytic answer: stage completion, bottleneck, queues, delays, recalls."""
    inputs = inputs.checked()
    n = float(inputs.population)
    rates = stage_rates(inputs)
    w = inputs.sampling_hours
    travel_h = inputs.travel_minutes / 60.0
    cadence_h = inputs.courier_cadence_minutes / 60.0
    run_h = inputs.lab_batch_minutes / 60.0
    sampling = max(w, n / rates.sampling)
    trip_h = courier_trip_hours(inputs)
    circuits = courier_circuits(inputs)
    # Short of vans, circuits queue for one: each comes round less often than the cadence,
    # and the last sweep at closing goes out in waves of `vehicles` circuits.
    cadence_eff = max(cadence_h, circuits * trip_h / inputs.vehicles)
    sweep = max(0.0, circuits / inputs.vehicles - 1.0) * trip_h
    transport = max(sampling + sweep, n / rates.transport) + travel_h
    first_receipt = min(cadence_h, sampling) + travel_h
    lab = max(transport + run_h, first_receipt + n / rates.lab)
    results = lab + inputs.reporting_minutes / 60.0
    stage_rates_map = {
        "sampling": rates.sampling,
        "transport": rates.transport,
        "lab": rates.lab,
    }
    # The bottleneck is the slowest stage; if every stage outpaces arrivals, it is the window.
    slowest = min(stage_rates_map, key=lambda k: stage_rates_map[k])
    bottleneck = slowest if stage_rates_map[slowest] < n / w else "sampling_window"
    per_site_rate = inputs.stations_per_site * 3600.0 / inputs.swab_seconds
    per_site_people = n / inputs.sites
    arrival_rate = per_site_people / w
    load = arrival_rate / per_site_rate
    variability = (1.0 + inputs.swab_cv**2) / 2.0
    if load < 1:
        lq = expected_queue(load, inputs.stations_per_site) * variability / 0.5
        max_queue = lq
    else:
        lq = math.inf
        # The fluid backlog peaks when arrivals stop.
        max_queue = (arrival_rate - per_site_rate) * w
    mean_wait_min = lq / arrival_rate * 60 if load < 1 else max_queue / per_site_rate * 60
    # Transport delay: a tube waits for the next pick-up (uniform over the cadence) and rides.
    lag = cadence_eff * max(1.0, n / rates.transport / max(sampling, 1e-9))
    over = 0.0
    limit = TRANSPORT_LIMIT_HOURS
    if lag + travel_h > limit:
        over = min(1.0, (lag + travel_h - limit) / lag)
    # Lab turnaround of the tube received at fraction f of receipts: backlog plus one run.
    tubes = tubes_needed(inputs)
    lab_tubes_rate = rates.lab / people_per_tube(inputs.pool_mix)
    arrival_span = max(transport - first_receipt, 1e-9)
    # A tube also waits for its batch to fill (at most one run, when the lab flushes).
    fill_h = min(run_h, inputs.lab_batch_size / (tubes / arrival_span))
    turnaround = {
        f"p{int(f * 100)}": round(
            max(0.0, f * (tubes / lab_tubes_rate - arrival_span)) + f * fill_h + run_h, 3
        )
        for f in (0.5, 0.9, 0.99)
    }
    return CapacityResult(
        model="analytic",
        stage_completion_hours={
            "sampling": sampling,
            "transport": transport,
            "lab": lab,
            "results": results,
        },
        bottleneck=bottleneck,
        stage_rates_people_per_hour={k: round(v, 1) for k, v in stage_rates_map.items()},
        tubes=round(tubes, 1),
        people_per_tube=round(people_per_tube(inputs.pool_mix), 3),
        queue={
            "site_load": round(load, 4),
            "mean_queue": round(lq, 2) if math.isfinite(lq) else -1.0,
            "max_queue": round(max_queue, 2),
            "mean_wait_minutes": round(mean_wait_min, 2),
        },
        over_4h_share=round(over, 4),
        lab_turnaround_hours=turnaround,
        recall=recall_workload(inputs),
        meets_deadline=results <= inputs.deadline_hours,
        resources={
            "sites": inputs.sites,
            "stations": inputs.sites * inputs.stations_per_site,
            "samplers": inputs.sites * inputs.stations_per_site * inputs.samplers_per_station,
            "vehicles": inputs.vehicles,
            "lab_tubes_per_hour": inputs.lab_tubes_per_hour,
        },
    )


# --- reverse mode ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """Resources to test N people in H hours, next to the national rules of thumb."""

    inputs: RoundInputs
    needed: dict[str, float]
    rules_of_thumb: dict[str, list[float]]
    check: CapacityResult

    def as_dict(self) -> dict[str, object]:
        """Return the requirement as JSON-ready data."""
        return {
            "needed": self.needed,
            "rules_of_thumb": self.rules_of_thumb,
            "check": self.check.as_dict(),
            "inputs": self.inputs.as_dict(),
        }


def require(template: RoundInputs) -> Requirement:
    """Return the sites, stations, samplers, couriers and lab capacity to meet the deadline.

    Sampling gets the window `sampling_hours`, stations are sized so each site's expected
    queue stays under the cap, couriers so transport keeps pace with sampling, and the lab
    so results are out by the deadline. The forward model then checks the answer.
    """
    t = template.checked()
    n = t.population
    swab_rate = 3600.0 / t.swab_seconds
    load = max_load_for_queue(t.queue_cap, t.stations_per_site)
    stations = math.ceil(n / (swab_rate * t.sampling_hours * load))
    sites = math.ceil(stations / t.stations_per_site)
    trial = replace(t, sites=sites)
    ppt = people_per_tube(t.pool_mix)
    trip_h = courier_trip_hours(trial)
    per_vehicle = t.boxes_per_vehicle * t.box_tubes * ppt / trip_h
    circuits_per_hour = sites / t.sites_per_trip / (t.courier_cadence_minutes / 60.0)
    vehicles = max(
        math.ceil(n / t.sampling_hours / per_vehicle),
        math.ceil(circuits_per_hour * trip_h),
    )
    trial = replace(trial, vehicles=vehicles)
    # Lab: everything must be through before the deadline less reporting and one run.
    travel_h = t.travel_minutes / 60.0
    first = min(t.courier_cadence_minutes / 60.0, t.sampling_hours) + travel_h
    spare = t.deadline_hours - t.reporting_minutes / 60.0 - first
    tubes = n / ppt
    lab_rate = tubes / max(spare, 1e-9) * 24.0 / t.lab_open_hours
    run_rate = t.lab_batch_size / (t.lab_batch_minutes / 60.0)
    # Parallel runs are whole, so round the lab's tubes per hour up to a whole run count.
    lab_tph = math.ceil(lab_rate / run_rate) * run_rate
    trial = replace(trial, lab_tubes_per_hour=lab_tph)
    check = analyse(trial)
    return Requirement(
        inputs=trial,
        needed={
            "sites": sites,
            "stations": sites * t.stations_per_site,
            "samplers": sites * t.stations_per_site * t.samplers_per_station,
            "couriers": vehicles,
            "lab_tubes_per_hour": round(lab_tph, 1),
            "tubes": round(tubes, 1),
            "site_load": round(load, 4),
        },
        rules_of_thumb={
            "sites": [math.ceil(n / PEOPLE_PER_SITE[1]), math.ceil(n / PEOPLE_PER_SITE[0])],
            "stations": [
                math.ceil(n / PEOPLE_PER_STATION[1]),
                math.ceil(n / PEOPLE_PER_STATION[0]),
            ],
            "samplers": [math.ceil(n / PEOPLE_PER_SAMPLER)],
        },
        check=check,
    )
