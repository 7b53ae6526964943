"""Hotline wire formats: intake and updates from the desk, telephony or a WeChat form."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tongxin.hotline.rules import Action, Category, LinkedWorkKind, Urgency, normalise_phone

RequestId = Field(
    default=None,
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9_.:\-]+$",
    description="The sender's id of this request; sending it again changes nothing.",
)


class IntakeIn(BaseModel):
    """One call taken: who called, where they live, what they need."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    hotline: str = Field(min_length=1, max_length=40, description="Code of the hotline.")
    caller_phone: str = Field(min_length=5, max_length=30)
    caller_name: str = Field(default="", max_length=60)
    address: str = Field(default="", max_length=200)
    resident_code: str | None = Field(default=None, max_length=12)
    description: str = Field(min_length=1, max_length=2000)
    category: Category | None = Field(
        default=None, description="Left out: the category suggested from the description."
    )
    urgency: Urgency | None = Field(
        default=None, description="Left out: the urgency suggested from the description."
    )
    client_request_id: str | None = RequestId
    attach_to: str | None = Field(
        default=None, max_length=24, description="Code of the caller's open case to add to."
    )
    on_repeat: Literal["attach", "new", "ask"] = Field(
        default="attach",
        description=(
            "When the number has an open case and attach_to is not given: add the call to "
            "the newest open case (attach), open another (new), or refuse with 409 (ask)."
        ),
    )

    @field_validator("caller_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        digits = normalise_phone(value)
        if not 5 <= len(digits) <= 20:
            raise ValueError("caller_phone must hold 5 to 20 digits")
        return digits


class UpdateIn(BaseModel):
    """A step on a case: a note, a call (a call back may confirm), or a state change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["note", "call", "action"]
    text: str = Field(default="", max_length=2000)
    action: Action | None = None
    callback_confirmed: bool = False
    client_request_id: str | None = RequestId


class WorkIn(BaseModel):
    """Linked work a case asks another desk for."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: LinkedWorkKind
    details: str = Field(min_length=1, max_length=1000)


class TimelineOut(BaseModel):
    """One timeline entry as the API shows it."""

    at: datetime
    by: str
    kind: str
    state_from: str | None
    state_to: str | None
    text: str


class WorkOut(BaseModel):
    """Linked work and its status."""

    id: int
    kind: str
    status: str
    details: str
    external_ref: str | None


class CaseOut(BaseModel):
    """A case as the API shows it."""

    code: str
    hotline: str
    state: str
    category: str
    urgency: str
    suggested_category: str
    suggested_urgency: str
    caller_phone: str
    caller_name: str
    address: str
    resident_code: str | None
    description: str
    responsible_area: str
    desk: str | None
    opened_at: datetime
    due_at: datetime
    overdue: bool
    calls: int
    outcome: Literal["created", "attached", "replayed", "updated"] | None = None
    timeline: list[TimelineOut] = []
    linked_work: list[WorkOut] = []


class SuggestionOut(BaseModel):
    """The category and urgency suggested for a description and the words that decided."""

    category: str
    urgency: str
    words: list[str]


class ResidentHint(BaseModel):
    """A resident the operator may mean, with the caller's open cases by their number."""

    resident_code: str
    name: str
    phone: str
    address: str
    open_cases: list[str]
