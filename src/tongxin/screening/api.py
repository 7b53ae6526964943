"""Screening JSON API: the capture endpoint for field devices, results by API.

Capture is the hot path: the body is parsed once with `json.loads` and the raw objects go
straight to the ledger, which validates each one (a malformed event is stored as rejected,
not refused), so nothing here re-serialises events.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session

from tongxin.db import session_scope
from tongxin.screening.ledger import event_by_id, ingest_events
from tongxin.screening.schemas import CaptureAnswer, StoredEvent
from tongxin.screening.setup import DeviceScope, scope_for_token
from tongxin.web.deps import DEVICE_TOKEN, RequestSession

# Every route here is called by a field device with its bearer token.
router = APIRouter(prefix="/api/v1", tags=["screening"], dependencies=[DEVICE_TOKEN])

# SQLite has one writer: queue this process's capture requests on a lock instead of letting
# them poll SQLite's busy handler, which starves under load.
_SQLITE_WRITER = threading.Lock()

MAX_EVENTS = 1000
MAX_BODY_BYTES = 8 * 1024 * 1024


async def event_batch(request: Request) -> list[Any]:
    """Read the body once: a JSON array of events (a lone object counts as a batch of one)."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status_code=413, detail=f"body over {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except ValueError:
        raise HTTPException(status_code=422, detail="body is not JSON") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise HTTPException(status_code=422, detail="body must be a JSON array of events")
    if len(data) > MAX_EVENTS:
        raise HTTPException(status_code=413, detail=f"at most {MAX_EVENTS} events per request")
    return data


def _device_scope(request: Request, session: Session) -> DeviceScope:
    """Return the scope of the bearer device token, or answer 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    scope = None
    if scheme.lower() == "bearer" and token.strip():
        scope = scope_for_token(session, token=token.strip(), now=datetime.now(UTC))
    if scope is None:
        raise HTTPException(
            status_code=401,
            detail="missing, unknown, expired or revoked device token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return scope


def device_scope(request: Request, session: Session = RequestSession) -> DeviceScope:
    """Return the scope of the bearer device token as a dependency, or answer 401."""
    return _device_scope(request, session)


@contextmanager
def _transaction(request: Request) -> Iterator[Session]:
    """Open the request's one transaction and commit it before the answer is sent.

    Capture does not use the `get_session` dependency on purpose. A device that sees
    `accepted` forgets the event, so the commit must come first, and FastAPI ends yield
    dependencies after the response by default. Doing it all in the handler's own thread
    also keeps a full thread pool from starving the one request that holds the writer.
    """
    factory = request.app.state.sessionmaker
    sqlite = factory.kw["bind"].dialect.name == "sqlite"
    with _SQLITE_WRITER if sqlite else nullcontext(), session_scope(factory) as session:
        yield session


@router.post("/capture/events", response_model=CaptureAnswer)
def capture_events(request: Request, events: list[Any] = Depends(event_batch)) -> CaptureAnswer:
    """Take a batch of field events; answer per event, in order, in one transaction."""
    with _transaction(request) as session:
        scope = _device_scope(request, session)
        received_at = datetime.now(UTC)
        answers = ingest_events(session, events=events, received_at=received_at, scope=scope)
    return CaptureAnswer(results=answers, received_at=received_at)


@router.get("/capture/events/{event_id}", response_model=StoredEvent)
def stored_event(event_id: str, request: Request) -> StoredEvent:
    """Tell a device what the server stored under an event id (404 when nothing)."""
    with session_scope(request.app.state.sessionmaker) as session:
        scope = _device_scope(request, session)
        event = event_by_id(session, event_id=event_id)
        if event is None or (event.round_id is not None and event.round_id != scope.round_id):
            raise HTTPException(status_code=404, detail="no such event")
        return StoredEvent(
            id=event.id,
            status="accepted" if event.status == "accepted" else "rejected",
            code=event.code,
            message=event.message_zh,
            message_en=event.message_en,
            flag=event.flag,
            received_at=event.received_at,
            resolved_at=event.resolved_at,
            resolution=event.resolution,
        )
