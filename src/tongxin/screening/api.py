"""Screening JSON API: the capture endpoint for field devices, results by API.

Capture is the hot path: the body is parsed once with `ledger.load_json` and the raw objects go to
this process's capture writer (`screening.capture`), which ingests concurrent requests in one
transaction and validates each event (a malformed event is stored as rejected, not refused).
The answer is written as JSON directly; nothing here re-serialises events through models.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, cast

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from tongxin.db import session_scope
from tongxin.screening.bulk import dump_json
from tongxin.screening.capture import CaptureFailed, CaptureRequest, CaptureWriter, TokenRefused
from tongxin.screening.ledger import event_by_id, load_json, quarantine_unstorable
from tongxin.screening.schemas import CaptureAnswer, StoredEvent
from tongxin.screening.setup import DeviceScope, scope_for_token
from tongxin.web.deps import DEVICE_TOKEN, RequestSession

# Every route here is called by a field device with its bearer token.
router = APIRouter(prefix="/api/v1", tags=["screening"], dependencies=[DEVICE_TOKEN])

MAX_EVENTS = 1000
MAX_BODY_BYTES = 8 * 1024 * 1024
_UNAUTHORIZED = HTTPException(
    status_code=401,
    detail="missing, unknown, expired or revoked device token",
    headers={"WWW-Authenticate": "Bearer"},
)


async def event_batch(request: Request) -> list[Any]:
    """Read the body once: a JSON array of events (a lone object counts as a batch of one)."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status_code=413, detail=f"body over {MAX_BODY_BYTES} bytes")
    try:
        data = load_json(body)
    except ValueError:
        raise HTTPException(status_code=422, detail="body is not JSON") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise HTTPException(status_code=422, detail="body must be a JSON array of events")
    if len(data) > MAX_EVENTS:
        raise HTTPException(status_code=413, detail=f"at most {MAX_EVENTS} events per request")
    return quarantine_unstorable(body, data, "request")


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _UNAUTHORIZED
    return token.strip()


def _device_scope(request: Request, session: Session) -> DeviceScope:
    """Return the scope of the bearer device token, or answer 401."""
    scope = scope_for_token(session, token=_bearer(request), now=datetime.now(UTC))
    if scope is None:
        raise _UNAUTHORIZED
    return scope


def device_scope(request: Request, session: Session = RequestSession) -> DeviceScope:
    """Return the scope of the bearer device token as a dependency, or answer 401."""
    return _device_scope(request, session)


def capture_writer(request: Request) -> CaptureWriter:
    """Return this app's capture writer (one per process, made on first use)."""
    writer: CaptureWriter | None = getattr(request.app.state, "capture_writer", None)
    if writer is None:
        writer = request.app.state.capture_writer = CaptureWriter(request.app.state.sessionmaker)
    return writer


class DirectRoute(APIRoute):
    """A route whose endpoint takes the request itself, without FastAPI's dependency solving.

    For the capture endpoint, the busiest by far: solving the app-level dependencies (the
    NUL guard, the CSRF check) and this router's declaration cost about half of the app's
    time per one-swab request. Neither check has anything to do here: the path is fixed and
    the query string unused, and a request with a bearer token is exempt from CSRF (one
    without is answered 401). The dependencies stay declared, so the route still shows its
    access (`DEVICE_TOKEN`) and its body schema in the OpenAPI document.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = cast(Callable[[Request], Awaitable[Response]], self.endpoint)

        async def handle(request: Request) -> Response:
            return await endpoint(request)

        return handle


async def capture_events(request: Request) -> Response:
    """Take a batch of field events; answer per event, in order, once they are committed."""
    capture = CaptureRequest(_bearer(request), await event_batch(request))
    try:
        taken = await capture_writer(request).submit(capture)
    except TokenRefused:
        raise _UNAUTHORIZED from None
    except CaptureFailed:
        # Nothing was stored for this request; the device keeps its events and resends.
        raise HTTPException(status_code=503, detail="events not stored; send them again") from None
    body = {
        "results": [a.wire() for a in taken.answers],
        "received_at": taken.received_at.isoformat().replace("+00:00", "Z"),
    }
    return Response(dump_json(body), media_type="application/json")


router.add_api_route(
    "/capture/events",
    capture_events,
    methods=["POST"],
    route_class_override=DirectRoute,
    response_model=CaptureAnswer,
    # The body is read raw (see `event_batch`); this tells clients and the schema fuzzer its
    # shape. Each object is checked against docs/event.schema.json one by one.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"type": "object"},
                        "maxItems": MAX_EVENTS,
                    }
                }
            },
        }
    },
    responses={
        401: {"description": "missing, unknown, expired or revoked device token"},
        503: {"description": "nothing was stored; send the same events again"},
    },
)


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
