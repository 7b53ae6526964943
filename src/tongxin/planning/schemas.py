"""Planning inputs at the web boundary: the capacity question, validated by Pydantic."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tongxin.planning.capacity import RoundInputs
from tongxin.planning.rules import parse_pool_mix


class CapacityQuery(BaseModel):
    """A capacity question from the page's form or the API's body."""

    population: int = Field(0, ge=0, le=50_000_000)
    pool_mix: str = Field("20:1", max_length=60, description="SIZE:SHARE,... e.g. 20:0.9,1:0.1")
    prevalence: float = Field(0.001, ge=0, lt=1)
    sites: int = Field(20, ge=1, le=100_000)
    stations_per_site: int = Field(4, ge=1, le=100)
    swab_seconds: float = Field(30.0, gt=0, le=3600)
    swab_cv: float = Field(0.0, ge=0, le=5)
    sampling_hours: float = Field(12.0, gt=0, le=72)
    cadence_minutes: float = Field(60.0, gt=0, le=1440)
    travel_minutes: float = Field(30.0, ge=0, le=1440)
    vehicles: int = Field(5, ge=1, le=100_000)
    lab_tubes_per_hour: float = Field(2000.0, gt=0, le=10_000_000)
    deadline_hours: float = Field(24.0, gt=0, le=240)
    mode: Literal["forward", "reverse"] = "forward"
    simulate: bool = False

    def inputs(self) -> RoundInputs:
        """Return the model's inputs, or raise PlanningError naming the bad field."""
        mix = parse_pool_mix(self.pool_mix)
        return RoundInputs(
            population=self.population,
            pool_mix=mix,
            prevalence=self.prevalence,
            sites=self.sites,
            stations_per_site=self.stations_per_site,
            swab_seconds=self.swab_seconds,
            swab_cv=self.swab_cv,
            sampling_hours=self.sampling_hours,
            courier_cadence_minutes=self.cadence_minutes,
            travel_minutes=self.travel_minutes,
            vehicles=self.vehicles,
            lab_tubes_per_hour=self.lab_tubes_per_hour,
            deadline_hours=self.deadline_hours,
        ).checked()
