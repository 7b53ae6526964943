"""Hotlines, operators and cases for tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.hotline.models import Hotline
from tongxin.hotline.rules import Urgency
from tongxin.hotline.schemas import IntakeIn
from tongxin.hotline.service import Taken, add_hotline, take_call
from tongxin.registry.models import Area
from tongxin.registry.queries import Scope

T0 = datetime(2022, 9, 20, 2, 0, tzinfo=UTC)  # 10:00 in Guiyang
DEADLINES = {Urgency.CRITICAL: 2.0, Urgency.URGENT: 12.0, Urgency.NORMAL: 72.0}


def build_hotline(
    session: Session, jurisdiction: Area, operators: Sequence[User] = (), code: str = "QH-01"
) -> Hotline:
    """Create a street's help line answering for `jurisdiction` (the street in tests)."""
    return add_hotline(
        session,
        code=code,
        name="泉湖街道求助热线",
        number="0851-86000001",
        organisation="泉湖街道办事处",
        jurisdiction=jurisdiction,
        hours="24小时",
        operators=operators,
    )


def call(
    session: Session,
    user: User,
    *,
    description: str = "家里老人降压药吃完了",
    phone: str = "13800000001",
    resident_code: str | None = None,
    scope: Scope | None = None,
    now: datetime = T0,
    **fields: object,
) -> Taken:
    """Take one call on hotline QH-01 as `user`."""
    intake = IntakeIn.model_validate(
        {
            "hotline": "QH-01",
            "caller_phone": phone,
            "caller_name": "王阿姨",
            "address": "尖山小区1栋",
            "resident_code": resident_code,
            "description": description,
            **fields,
        }
    )
    return take_call(
        session,
        intake=intake,
        user=user,
        scope=scope or Scope.everything(),
        now=now,
        deadlines=DEADLINES,
    )
