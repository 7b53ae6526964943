"""Pure planning arithmetic: pool-size advice, prevalence from pooled results, queues, walks.

No database, no clock, no I/O. The capacity model (`capacity`), the simulation
(`simulation`) and the schedule heuristic (`scheduler`) build on these.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tongxin.screening.rules import VALID_POOL_SIZES

# Dorfman pooling stops paying at p = 1 - 3^(-1/3) ≈ 30.7 %; advice is given up to there.
ALLOWED_SIZES: tuple[int, ...] = tuple(sorted(VALID_POOL_SIZES))
# Likelihood-ratio interval: half the 95 % quantile of chi-square with one degree of freedom.
_LR_HALF_CHI2_95 = 3.841458820694124 / 2


class PlanningError(ValueError):
    """An input the planner cannot use; `code` is stable, `field` names the input."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


def check_prevalence(p: float, field: str = "prevalence") -> float:
    """Return p when it is a probability in [0, 1)."""
    if not (isinstance(p, int | float) and math.isfinite(p) and 0.0 <= p < 1.0):
        raise PlanningError("prevalence_range", field, f"{field} must be in [0, 1), got {p!r}")
    return float(p)


def parse_pool_mix(raw: str) -> dict[int, float]:
    """Parse "SIZE:SHARE,..." (e.g. "20:0.9,10:0.08,1:0.02") into {size: share of people}."""
    mix: dict[int, float] = {}
    for part in raw.split(","):
        size, _, share = part.partition(":")
        try:
            mix[int(size)] = float(share)
        except ValueError:
            raise PlanningError(
                "pool_mix", "pool_mix", f"pool mix is SIZE:SHARE,...: {raw!r}"
            ) from None
    return mix


def dorfman_tests_per_person(k: int, p: float) -> float:
    """Return the expected tests per person with pool size k at prevalence p (Dorfman 1943).

    A single tube (k = 1) is one test per person; a pool of k is one test plus k retests
    when any member is positive, i.e. 1/k + 1 - (1 - p)^k per person.
    """
    if k < 1:
        raise PlanningError("pool_size", "k", f"pool size must be at least 1, got {k}")
    if k == 1:
        return 1.0
    return 1.0 / k + 1.0 - (1.0 - p) ** k


@dataclass(frozen=True)
class PoolOption:
    """What one pool size costs at a prevalence, per person and per 10,000 people."""

    size: int
    tests_per_person: float
    positive_tube_share: float
    tubes_per_10k: float
    positive_tubes_per_10k: float
    recalls_per_10k: float
    tests_per_10k: float


@dataclass(frozen=True)
class PoolAdvice:
    """The pool-size advice at one prevalence."""

    prevalence: float
    best_size: int
    options: tuple[PoolOption, ...]
    # The unrestricted Dorfman optimum, to show what the validated sizes give up.
    unrestricted_size: int
    unrestricted_tests_per_person: float

    def as_dict(self) -> dict[str, object]:
        """Return the advice as JSON-ready data."""
        return {
            "prevalence": self.prevalence,
            "best_size": self.best_size,
            "unrestricted_size": self.unrestricted_size,
            "unrestricted_tests_per_person": round(self.unrestricted_tests_per_person, 6),
            "options": [
                {
                    "size": o.size,
                    "tests_per_person": round(o.tests_per_person, 6),
                    "positive_tube_share": round(o.positive_tube_share, 6),
                    "tubes_per_10k": round(o.tubes_per_10k, 2),
                    "positive_tubes_per_10k": round(o.positive_tubes_per_10k, 2),
                    "recalls_per_10k": round(o.recalls_per_10k, 2),
                    "tests_per_10k": round(o.tests_per_10k, 2),
                }
                for o in self.options
            ],
        }


def pool_option(k: int, p: float) -> PoolOption:
    """Return the expected costs of pool size k at prevalence p."""
    positive_share = 1.0 - (1.0 - p) ** k
    tubes = 10_000 / k
    positive_tubes = tubes * positive_share
    # A positive single tube is one person to recall; a positive pool recalls all k members.
    recalls = positive_tubes * k
    return PoolOption(
        size=k,
        tests_per_person=dorfman_tests_per_person(k, p),
        positive_tube_share=positive_share,
        tubes_per_10k=tubes,
        positive_tubes_per_10k=positive_tubes,
        recalls_per_10k=recalls,
        tests_per_10k=10_000 * dorfman_tests_per_person(k, p),
    )


def advise_pool_size(p: float, sizes: Iterable[int] = ALLOWED_SIZES) -> PoolAdvice:
    """Return the validated pool size with the fewest expected tests per person at p.

    Ties go to the smaller pool: fewer people per recall and less dilution (Ct + log2 k).
    """
    p = check_prevalence(p)
    options = tuple(pool_option(k, p) for k in sorted(set(sizes)))
    best = min(options, key=lambda o: (o.tests_per_person, o.size))
    # The unrestricted optimum lies below 1/sqrt(p) + 2; scanning to 200 covers p >= 0.0001.
    upper = max(2, min(200, int(1 / math.sqrt(p)) + 3 if p > 0 else 200))
    free = min(range(1, upper + 1), key=lambda k: (dorfman_tests_per_person(k, p), k))
    return PoolAdvice(
        prevalence=p,
        best_size=best.size,
        options=options,
        unrestricted_size=free,
        unrestricted_tests_per_person=dorfman_tests_per_person(free, p),
    )


# --- prevalence from earlier rounds' pooled results -------------------------------------


@dataclass(frozen=True)
class PrevalenceEstimate:
    """Individual prevalence estimated from pooled tube results, with a 95 % interval."""

    tubes: int
    positive_tubes: int
    people: int
    estimate: float
    low: float
    high: float
    method: str = "pooled maximum likelihood, likelihood-ratio 95 % interval"

    def as_dict(self) -> dict[str, object]:
        """Return the estimate as JSON-ready data."""
        return {
            "tubes": self.tubes,
            "positive_tubes": self.positive_tubes,
            "people": self.people,
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "method": self.method,
        }


def _log_likelihood(p: float, groups: Mapping[int, tuple[int, int]]) -> float:
    """Return the log-likelihood of individual prevalence p for {size: (positive, negative)}.

    A tube of k members is negative with probability (1 - p)^k (perfect test assumed).
    """
    total = 0.0
    log_q = math.log1p(-p)
    for k, (pos, neg) in groups.items():
        if neg:
            total += neg * k * log_q
        if pos:
            negative_chance = math.exp(k * log_q)
            if negative_chance >= 1.0:
                return -math.inf
            total += pos * math.log1p(-negative_chance)
    return total


def _bisect(f, lo: float, hi: float, iterations: int = 200) -> float:
    """Return x in [lo, hi] where the increasing-or-decreasing f changes sign."""
    f_lo = f(lo)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        f_mid = f(mid)
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
        if hi - lo < 1e-15:
            break
    return (lo + hi) / 2


def estimate_prevalence(groups: Mapping[int, tuple[int, int]]) -> PrevalenceEstimate:
    """Estimate individual prevalence from tube results grouped by members per tube.

    `groups` maps the number of members in a tube to (positive tubes, negative tubes). The
    estimate is the maximum-likelihood p of the pooled-testing likelihood; the interval is
    every p whose log-likelihood lies within chi2(1, 0.95)/2 of the maximum. With one pool
    size this equals transforming the tube positivity rate, 1 - (1 - T/N)^(1/k); with mixed
    sizes it still uses every tube at its own size.
    """
    clean = {
        int(k): (int(pos), int(neg)) for k, (pos, neg) in groups.items() if k > 0 and pos + neg
    }
    tubes = sum(pos + neg for pos, neg in clean.values())
    positive = sum(pos for pos, _ in clean.values())
    people = sum(k * (pos + neg) for k, (pos, neg) in clean.items())
    if tubes == 0:
        raise PlanningError("no_results", "results", "no resulted tubes to estimate from")
    cap = 1.0 - 1e-12
    if positive == 0:
        mle = 0.0
        best = 0.0
    elif positive == tubes:
        mle = cap
        best = _log_likelihood(cap, clean)
    else:

        def score(p: float) -> float:
            # Derivative of the log-likelihood; it falls monotonically in p.
            d = 0.0
            for k, (pos, neg) in clean.items():
                q = (1.0 - p) ** k
                d -= neg * k / (1.0 - p)
                if pos:
                    d += pos * k * (1.0 - p) ** (k - 1) / (1.0 - q)
            return d

        mle = _bisect(score, 1e-15, cap)
        best = _log_likelihood(mle, clean)

    def drop(p: float) -> float:
        return _log_likelihood(p, clean) - (best - _LR_HALF_CHI2_95)

    low = 0.0 if positive == 0 else _bisect(drop, 1e-15, mle)
    high = cap if positive == tubes else _bisect(drop, max(mle, 1e-15), cap)
    return PrevalenceEstimate(
        tubes=tubes, positive_tubes=positive, people=people, estimate=mle, low=low, high=high
    )


# --- queues and walking --------------------------------------------------------------------


def expected_queue(load: float, servers: int) -> float:
    """Return the expected people waiting at c stations at utilisation `load` (0 <= load < 1).

    Sakasegawa's approximation for M/G/c, Lq ≈ ρ^sqrt(2(c+1)) / (1 - ρ) · (ca² + cs²) / 2,
    with Poisson arrivals inside a slot (ca² = 1) and near-constant swab times (cs² ≈ 0):
    it is the queue a slot's arrivals form even when the slot's capacity suffices.
    """
    if servers < 1:
        raise PlanningError("stations", "stations", "a site needs at least one station")
    if load <= 0:
        return 0.0
    if load >= 1:
        return math.inf
    return load ** math.sqrt(2 * (servers + 1)) / (1.0 - load) * 0.5


def max_load_for_queue(cap: float, servers: int) -> float:
    """Return the highest utilisation whose expected queue stays at or below `cap`."""
    if cap <= 0:
        return 0.0
    return _bisect(lambda r: cap - expected_queue(r, servers), 0.0, 1.0 - 1e-12, 80) * (1 - 1e-12)


EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in metres between two points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def walk_minutes(
    lat1: float, lon1: float, lat2: float, lon2: float, *, speed_kmh: float, detour: float
) -> float:
    """Return minutes on foot: straight-line distance times a street detour factor."""
    return distance_m(lat1, lon1, lat2, lon2) * detour / (speed_kmh * 1000 / 60)
