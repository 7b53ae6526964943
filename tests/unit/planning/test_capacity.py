"""The analytic capacity model and its agreement with the SimPy simulation."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin.planning.capacity import RoundInputs, analyse, lab_parallel_runs, require
from tongxin.planning.rules import PlanningError
from tongxin.planning.simulation import simulate

STAGES = ("sampling", "transport", "lab", "results")

round_inputs = st.builds(
    RoundInputs,
    population=st.integers(min_value=1_000, max_value=2_000_000),
    pool_mix=st.sampled_from([{20: 1.0}, {10: 1.0}, {20: 0.9, 10: 0.08, 1: 0.02}, {5: 1.0}]),
    prevalence=st.floats(min_value=0.0, max_value=0.05),
    sites=st.integers(min_value=2, max_value=800),
    stations_per_site=st.integers(min_value=2, max_value=10),
    swab_seconds=st.floats(min_value=10, max_value=90),
    sampling_hours=st.floats(min_value=4, max_value=16),
    courier_cadence_minutes=st.floats(min_value=20, max_value=120),
    travel_minutes=st.floats(min_value=5, max_value=90),
    vehicles=st.integers(min_value=2, max_value=300),
    lab_tubes_per_hour=st.floats(min_value=200, max_value=100_000),
    lab_open_hours=st.floats(min_value=8, max_value=24),
)

# A resource taken away: one station per site, one vehicle, one lab run's worth of tubes,
# fewer boxes per vehicle. Sites are not in the list: a site is also a courier stop, and
# fewer stops shorten the circuits (docs/planning.md).
REMOVALS = {
    "station": lambda i: replace(i, stations_per_site=i.stations_per_site - 1),
    "vehicle": lambda i: replace(i, vehicles=i.vehicles - 1),
    "lab": lambda i: replace(
        i, lab_tubes_per_hour=i.lab_tubes_per_hour - i.lab_batch_size / (i.lab_batch_minutes / 60)
    ),
    "boxes": lambda i: replace(i, boxes_per_vehicle=i.boxes_per_vehicle - 1),
    "samplers_slower": lambda i: replace(i, swab_seconds=i.swab_seconds + 5),
}


@settings(max_examples=200)
@given(round_inputs, st.sampled_from(sorted(REMOVALS)))
def test_completion_never_falls_when_a_resource_is_removed(
    inputs: RoundInputs, removed: str
) -> None:
    fewer = REMOVALS[removed](inputs)
    try:
        fewer.checked()
    except PlanningError:
        return  # nothing left to remove
    before = analyse(inputs).stage_completion_hours
    after = analyse(fewer).stage_completion_hours
    for stage in STAGES:
        assert after[stage] >= before[stage] - 1e-9, (removed, stage, before, after)


ZERO_VARIABILITY = [
    RoundInputs(population=50_000),
    RoundInputs(population=200_000, sites=60, vehicles=20, lab_tubes_per_hour=5_000),
    # Sampling-bound: too few stations for the window.
    RoundInputs(population=100_000, sites=10, stations_per_site=3, vehicles=10),
    # Lab-bound: one small lab.
    RoundInputs(population=80_000, sites=30, vehicles=10, lab_tubes_per_hour=250),
]


@pytest.mark.parametrize("inputs", ZERO_VARIABILITY)
def test_simulation_agrees_with_the_analytic_model_at_zero_variability(
    inputs: RoundInputs,
) -> None:
    # Stated tolerance (docs/planning.md): each stage within one simulation step (5 min)
    # plus 2 % of its time; the lab and results within one run more (a short last batch)
    # and, when the lab is the bottleneck, its ramp-up (filling its parallel runs one batch
    # at a time), which the fluid model leaves out.
    result = analyse(inputs)
    analytic = result.stage_completion_hours
    simulated = simulate(inputs, seed=7).stage_completion_hours
    step_h = 5 / 60
    receipt_rate = result.tubes / (analytic["transport"] - 1.5)
    ramp = lab_parallel_runs(inputs) * inputs.lab_batch_size / receipt_rate
    for stage in STAGES:
        slack = step_h + 0.02 * analytic[stage]
        if stage in ("lab", "results"):
            slack += inputs.lab_batch_minutes / 60
            if result.bottleneck == "lab":
                slack += ramp
        assert simulated[stage] == pytest.approx(analytic[stage], abs=slack), stage
        if result.bottleneck != "lab":
            # Otherwise the simulation is never earlier than the fluid model by much.
            assert simulated[stage] >= analytic[stage] - step_h - 0.02 * analytic[stage]


def test_simulation_names_the_same_bottleneck_when_the_lab_is_short() -> None:
    inputs = ZERO_VARIABILITY[3]
    assert analyse(inputs).bottleneck == "lab"
    sim = simulate(inputs, seed=3)
    assert sim.bottleneck == "lab"


def test_variability_makes_queues_and_waits() -> None:
    busy = RoundInputs(population=60_000, sites=10, stations_per_site=5, swab_cv=0.6)
    calm = replace(busy, swab_cv=0.0)
    assert simulate(busy, seed=1).queue["max_queue"] > simulate(calm, seed=1).queue["max_queue"]


def test_recall_workload_follows_dorfman() -> None:
    out = analyse(RoundInputs(population=10_000, pool_mix={10: 1.0}, prevalence=0.01))
    assert out.recall["positive_tubes"] == pytest.approx(95.6, abs=0.1)
    assert out.recall["people_to_recall"] == pytest.approx(956, abs=1)


def test_reverse_mode_meets_the_deadline_and_shows_the_rules_of_thumb() -> None:
    need = require(RoundInputs(population=1_000_000, deadline_hours=24))
    assert need.check.meets_deadline
    assert need.check.queue["mean_queue"] <= 15
    assert need.rules_of_thumb["sites"] == [334, 500]
    assert need.rules_of_thumb["samplers"] == [2778]
    # What was asked for is what the forward model was run with.
    assert need.inputs.sites == need.needed["sites"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("population", 0), ("sites", 0), ("pool_mix", {30: 1.0}), ("pool_mix", {20: 0.5})],
)
def test_unusable_inputs_name_the_field(field: str, value: object) -> None:
    with pytest.raises(PlanningError) as err:
        analyse(replace(RoundInputs(population=1000), **{field: value}))
    assert err.value.field == field


def test_a_simulation_over_its_event_budget_gives_up_instead_of_running_on():
    inputs = RoundInputs(population=50_000)
    assert simulate(inputs, max_events=10_000_000).model == "simulation"
    with pytest.raises(PlanningError) as refused:
        simulate(inputs, max_events=100)
    assert refused.value.code == "too_large"
