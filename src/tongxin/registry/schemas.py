"""Pydantic shapes of registry data crossing the API and import boundaries."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class AreaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    latitude: float | None = None
    longitude: float | None = None


class AreaNode(BaseModel):
    """An area with the number of residents living under it."""

    area: AreaOut
    residents: int


class ResidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_code: str
    name: str
    gender: str
    birth_date: date
    phone: str | None
    id_type: str
    id_number: str
    household_id: int
    building_id: int
    community_id: int
    status: str
    groups: list[str] = []


class ResidentPage(BaseModel):
    """One page of a resident list; `next_after` is the keyset cursor of the next page."""

    items: list[ResidentOut]
    total: int
    next_after: int | None


class AreaTree(BaseModel):
    """An area with its resident count and its children's counts."""

    area: AreaOut
    residents: int
    children: list[AreaNode]
