"""Pool-size advice (Dorfman) and prevalence from pooled results."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin.planning.rules import (
    ALLOWED_SIZES,
    PlanningError,
    advise_pool_size,
    dorfman_tests_per_person,
    estimate_prevalence,
)


def exact_dorfman(k: int, p: float) -> float:
    # Written out independently of the module: single tubes cost 1, a pool 1/k + 1 - (1-p)^k.
    return 1.0 if k == 1 else 1 / k + 1 - (1 - p) ** k


@given(st.floats(min_value=0.0, max_value=0.99, allow_nan=False))
def test_best_size_is_the_exact_dorfman_minimum_over_the_validated_sizes(p: float) -> None:
    advice = advise_pool_size(p)
    costs = {k: exact_dorfman(k, p) for k in (1, 5, 10, 20)}
    best = min(costs.values())
    assert advice.best_size in (1, 5, 10, 20)
    assert math.isclose(costs[advice.best_size], best, rel_tol=1e-12, abs_tol=1e-15)
    # Ties go to the smaller pool.
    assert advice.best_size == min(k for k, c in costs.items() if math.isclose(c, best))


def test_published_figures_at_one_percent() -> None:
    # DOMAIN.md: at 1 % the unrestricted optimum is k = 11 with 0.196 tests per person, and
    # 9.6 % of 10:1 tubes come back positive.
    advice = advise_pool_size(0.01)
    assert advice.unrestricted_size == 11
    assert advice.unrestricted_tests_per_person == pytest.approx(0.1956, abs=5e-4)
    ten = next(o for o in advice.options if o.size == 10)
    assert ten.positive_tube_share == pytest.approx(0.0956, abs=5e-4)
    assert advice.best_size == 10
    assert ten.positive_tubes_per_10k == pytest.approx(95.6, abs=0.1)
    assert ten.recalls_per_10k == pytest.approx(956, abs=1)


def test_pooling_stops_paying_above_thirty_one_percent() -> None:
    assert advise_pool_size(0.25).best_size != 1
    assert advise_pool_size(0.35).best_size == 1


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, math.nan])
def test_prevalence_outside_zero_to_one_is_refused(bad: float) -> None:
    with pytest.raises(PlanningError) as err:
        advise_pool_size(bad)
    assert err.value.field == "prevalence"


def test_single_pool_size_estimate_is_the_transformed_positivity_rate() -> None:
    # 1000 tubes of 10, 20 positive: p = 1 - (1 - 0.02)^(1/10).
    est = estimate_prevalence({10: (20, 980)})
    assert est.estimate == pytest.approx(1 - 0.98 ** (1 / 10), rel=1e-6)
    assert est.low < est.estimate < est.high
    assert est.people == 10_000


def test_mixed_sizes_estimate_uses_every_tube_at_its_size() -> None:
    p = 0.003
    groups = {
        20: (round(500 * (1 - (1 - p) ** 20)), 500 - round(500 * (1 - (1 - p) ** 20))),
        1: (3, 997),
    }
    est = estimate_prevalence(groups)
    assert est.low <= p <= est.high


def test_no_positive_tube_gives_zero_with_an_upper_limit() -> None:
    est = estimate_prevalence({20: (0, 1000)})
    assert est.estimate == 0.0 and est.low == 0.0
    # About 1.92 / 20,000 people (likelihood-ratio "rule of three" analogue).
    assert est.high == pytest.approx(1.92 / 20_000, rel=0.01)


def test_no_results_is_an_error() -> None:
    with pytest.raises(PlanningError):
        estimate_prevalence({})


@given(
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=1, max_value=500),
    st.sampled_from(ALLOWED_SIZES),
)
def test_interval_always_holds_the_estimate(pos: int, tubes: int, k: int) -> None:
    pos = min(pos, tubes)
    est = estimate_prevalence({k: (pos, tubes - pos)})
    assert 0.0 <= est.low <= est.estimate <= est.high < 1.0


def test_dorfman_single_tube_is_one_test_per_person() -> None:
    assert dorfman_tests_per_person(1, 0.2) == 1.0
