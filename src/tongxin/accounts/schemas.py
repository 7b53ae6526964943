"""Pydantic shapes for accounts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: str
    jurisdiction_id: int | None
    lab_id: int | None = None
    is_active: bool
