"""A demo district with a round and sites laid out so every building has one in reach."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tongxin.demo.round import add_demo_round
from tongxin.demo.service import build_district


def planned_district(
    engine: Engine, *, residents: int, seed: int = 20220923, people_per_site: int = 2500
) -> str:
    """Build the demo district and the demo's round R1 over it (`tongxin.demo.round`)."""
    build_district(engine, residents=residents, seed=seed, batch_rows=5000)
    return add_demo_round(engine, people_per_site=people_per_site).code
