"""Device API of the courier and lab-receipt screens (decision 0009).

Every route takes a device token as bearer and checks its kind: a lab token for the lab's
boxes and results file, a courier token for the courier's badge and boxes. A token of the
wrong kind gets 403, another lab's boxes are never listed.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import segno
from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tongxin.screening.api import device_scope
from tongxin.screening.api_results import audit_results, lab_scope, round_and_lab_codes
from tongxin.screening.lab_receipt import courier_boxes, lab_boxes
from tongxin.screening.results import ResultFileError, import_results, parse_table
from tongxin.screening.setup import DeviceScope
from tongxin.web.deps import DEVICE_TOKEN, RequestSession
from tongxin.web.openapi import error_responses

router = APIRouter(prefix="/api/v1/field", tags=["field"], dependencies=[DEVICE_TOKEN])

# A day's results of one lab are far below this; bigger bodies are refused before parsing.
MAX_RESULTS_FILE = 16 * 1024 * 1024


def courier_scope(scope: DeviceScope = Depends(device_scope)) -> DeviceScope:
    """Return the scope of a courier's device token; any other token gets 403."""
    if not scope.courier:
        raise HTTPException(status_code=403, detail="needs a courier device token")
    return scope


@router.get("/lab/boxes", responses=error_responses(401, 403))
def get_lab_boxes(
    scope: DeviceScope = Depends(lab_scope), session: Session = RequestSession
) -> dict[str, Any]:
    """List the boxes handed over to the token's lab in its round, with their tubes."""
    round_code, lab_code = round_and_lab_codes(session, scope)
    assert scope.lab_id is not None
    boxes = lab_boxes(session, round_id=scope.round_id, lab_id=scope.lab_id)
    return {"round": round_code, "lab": lab_code, "boxes": boxes}


@router.post("/lab/results", responses=error_responses(400, 401, 403, 413))
def post_lab_results(
    request: Request,
    file: UploadFile = File(...),
    scope: DeviceScope = Depends(lab_scope),
    session: Session = RequestSession,
) -> dict[str, Any]:
    """Import a results file (.csv or .xlsx) for the token's lab; per-row answers as JSON."""
    data = file.file.read(MAX_RESULTS_FILE + 1)
    if len(data) > MAX_RESULTS_FILE:
        raise HTTPException(status_code=413, detail=f"file over {MAX_RESULTS_FILE} bytes")
    name = file.filename or "results.csv"
    try:
        parsed = parse_table(name, data)
    except ResultFileError as exc:
        # FastAPI's validation-error shape, as every 422 of this API; `type` is the code.
        message = f"{name}:{exc.message_zh}(未导入任何结果) / {exc.message_en} (nothing imported)"
        raise HTTPException(
            status_code=422,
            detail=[{"loc": ["body", "file"], "msg": message, "type": exc.code}],
        ) from None
    round_code, lab_code = round_and_lab_codes(session, scope)
    received_at = datetime.now(UTC)
    outcome = import_results(
        session,
        parsed=parsed,
        round_code=round_code,
        lab=lab_code,
        device=scope.device,
        received_at=received_at,
        scope=scope,
    )
    audit_results(session, request, scope, outcome, now=received_at, source="file")
    return {"file": name, **outcome.as_dict()}


@router.get("/courier/boxes", responses=error_responses(401, 403))
def get_courier_boxes(
    scope: DeviceScope = Depends(courier_scope), session: Session = RequestSession
) -> dict[str, Any]:
    """List the boxes the token's courier holds now (picked up, not yet delivered)."""
    return {
        "courier": scope.device,
        "boxes": courier_boxes(session, round_id=scope.round_id, courier=scope.device),
    }


@router.get(
    "/courier/badge.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **error_responses(401, 403)},
)
def get_courier_badge(scope: DeviceScope = Depends(courier_scope)) -> Response:
    """Draw the courier's code as a QR for the lab's device to scan at delivery."""
    out = io.BytesIO()
    segno.make_qr(scope.device, error="m").save(
        out, kind="svg", scale=1, border=2, omitsize=True, xmldecl=False
    )
    return Response(out.getvalue(), media_type="image/svg+xml")
