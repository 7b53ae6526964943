"""Field-device JSON API: the context a device caches to apply the ledger's rules offline."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from tongxin.field.schemas import DeviceContext
from tongxin.field.service import device_context
from tongxin.screening.api import device_scope
from tongxin.screening.setup import DeviceScope
from tongxin.web.deps import DEVICE_TOKEN, RequestSession

router = APIRouter(prefix="/api/v1/field", tags=["field"], dependencies=[DEVICE_TOKEN])


@router.get(
    "/context",
    response_model=DeviceContext,
    responses={401: {"description": "missing, unknown, expired or revoked device token"}},
)
def context(
    response: Response,
    scope: DeviceScope = Depends(device_scope),
    session: Session = RequestSession,
) -> DeviceContext:
    """Return the round, site, stations, tubes, boxes and residents (masked) of this device."""
    # Masked names still belong to people: the device keeps them in its own storage only.
    response.headers["Cache-Control"] = "no-store"
    return device_context(session, scope=scope, now=datetime.now(UTC))
