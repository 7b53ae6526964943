"""Lab results by API: `POST /api/v1/results` (JSON) and `POST /api/v1/results/hl7` (ORU^R01).

Both take a lab device token (`tongxin tokens issue --lab L`) as bearer; the token fixes the
round and the lab, so the body names neither. Rows go through the same checks and the same
ledger path as a results file (see docs/results.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.audit.context import device_actor
from tongxin.audit.service import record
from tongxin.screening.api import device_scope
from tongxin.screening.hl7 import import_hl7, split_messages
from tongxin.screening.models import Lab, Round
from tongxin.screening.results import (
    ImportOutcome,
    ParsedResults,
    RowProblem,
    check_row,
    import_results,
)
from tongxin.screening.setup import DeviceScope
from tongxin.web.deps import DEVICE_TOKEN, RequestSession
from tongxin.web.openapi import error_responses

# Lab systems call these with a lab device token (lab_scope checks it).
router = APIRouter(prefix="/api/v1", tags=["screening"], dependencies=[DEVICE_TOKEN])

MAX_RESULTS = 2000
MAX_HL7_BYTES = 4 * 1024 * 1024


class ResultIn(BaseModel):
    """One tube result as a lab system sends it."""

    model_config = ConfigDict(extra="forbid")

    tube: str = Field(max_length=40, description="Tube barcode.")
    result: str = Field(max_length=20, description="negative/positive/invalid (or 阴性/阳性/无效).")
    ct: float | None = Field(default=None, description="Lowest Ct, when the lab has one.")
    at: AwareDatetime | None = Field(default=None, description="Result time; default now.")


class ResultsIn(BaseModel):
    """A batch of results from one lab."""

    model_config = ConfigDict(extra="forbid")

    results: list[ResultIn] = Field(min_length=1, max_length=MAX_RESULTS)


class ResultAnswer(BaseModel):
    """What happened to one result, in the order sent (`row` counts from 1)."""

    row: int
    tube: str
    status: Literal["accepted", "duplicate", "rejected", "invalid"]
    code: str | None = None
    message: str | None = None
    message_en: str | None = None


class ResultsAnswer(BaseModel):
    """Counts and the per-result answers of a batch."""

    accepted: int
    duplicate: int
    rejected: int
    invalid: int
    results: list[ResultAnswer]


def lab_scope(scope: DeviceScope = Depends(device_scope)) -> DeviceScope:
    """Return the scope of a lab device token; a sampling-site token gets 403."""
    if scope.lab_id is None:
        raise HTTPException(status_code=403, detail="results need a lab device token")
    return scope


def round_and_lab_codes(session: Session, scope: DeviceScope) -> tuple[str, str]:
    """Return the codes of a lab token's round and lab."""
    round_code = session.scalar(select(Round.code).where(Round.id == scope.round_id))
    lab_code = session.scalar(select(Lab.code).where(Lab.id == scope.lab_id))
    assert round_code is not None and lab_code is not None
    return round_code, lab_code


@router.post("/results", response_model=ResultsAnswer, responses=error_responses(400, 401, 403))
def post_results(
    request: Request,
    body: ResultsIn,
    scope: DeviceScope = Depends(lab_scope),
    session: Session = RequestSession,
) -> ResultsAnswer:
    """Report tube results; each is applied, a duplicate, rejected (and kept) or invalid."""
    received_at = datetime.now(UTC)
    round_code, lab_code = round_and_lab_codes(session, scope)
    parsed = ParsedResults()
    for number, item in enumerate(body.results, 1):
        checked = check_row(number, tube=item.tube, result=item.result, ct=item.ct, at=item.at)
        if isinstance(checked, RowProblem):
            parsed.problems.append(checked)
        else:
            parsed.rows.append(checked)
    outcome = import_results(
        session,
        parsed=parsed,
        round_code=round_code,
        lab=lab_code,
        device=scope.device,
        received_at=received_at,
        scope=scope,
    )
    audit_results(session, request, scope, outcome, now=received_at, source="api")
    return _answer(outcome, [r.tube for r in body.results])


def audit_results(
    session: Session,
    request: Request,
    scope: DeviceScope,
    outcome: ImportOutcome,
    *,
    now: datetime,
    source: str,
) -> None:
    """Log a results batch: which lab device sent how many, and how they were taken."""
    rnd = session.get(Round, scope.round_id)
    assert rnd is not None
    record(
        session,
        actor=device_actor(request, scope.device),
        action="screening.results.import",
        target_type="round",
        target_id=rnd.code,
        area=rnd.district_id,
        now=now,
        after={"via": source, **outcome.counts()},
    )


def _answer(outcome: ImportOutcome, tubes: list[str]) -> ResultsAnswer:
    by_row: dict[int, ResultAnswer] = {}
    for p in outcome.problems:
        by_row[p.row] = ResultAnswer(
            row=p.row, tube=tubes[p.row - 1], status="invalid", code=p.code,
            message=p.message_zh, message_en=p.message_en,
        )  # fmt: skip
    for r in outcome.rows:
        status: Any = r.status
        by_row[r.row] = ResultAnswer(
            row=r.row, tube=r.tube, status=status, code=r.code, message=r.message_zh,
            message_en=r.message_en,
        )  # fmt: skip
    return ResultsAnswer(
        accepted=outcome.accepted,
        duplicate=outcome.duplicate,
        rejected=outcome.rejected,
        invalid=len(outcome.problems),
        results=[by_row[n] for n in sorted(by_row)],
    )


async def hl7_text(request: Request) -> str:
    """Read the body as HL7 v2 text (UTF-8, or GB18030 from older LIS)."""
    body = await request.body()
    if len(body) > MAX_HL7_BYTES:
        raise HTTPException(status_code=413, detail=f"body over {MAX_HL7_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("gb18030", errors="replace")
    if not split_messages(text):
        raise HTTPException(status_code=422, detail="the body holds no HL7 message (no MSH)")
    return text


@router.post(
    "/results/hl7",
    response_class=Response,
    responses={
        200: {"content": {"application/hl7-v2": {}}, "description": "One ACK per message"},
        **error_responses(401, 403, 413, 422),
    },
    # The body is read raw by hl7_text, so FastAPI cannot see it; declared for clients.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/hl7-v2": {"schema": {"type": "string"}}},
        }
    },
)
def post_results_hl7(
    request: Request,
    text: str = Depends(hl7_text),
    scope: DeviceScope = Depends(lab_scope),
    session: Session = RequestSession,
) -> Response:
    """Take ORU^R01 messages as the body; answer each with its ACK (AA, AE or AR)."""
    round_code, lab_code = round_and_lab_codes(session, scope)
    received_at = datetime.now(UTC)
    answers = import_hl7(
        session,
        text=text,
        round_code=round_code,
        lab=lab_code,
        device=scope.device,
        received_at=received_at,
        scope=scope,
    )
    total = ImportOutcome.combined(part for _ack, part in answers)
    audit_results(session, request, scope, total, now=received_at, source="hl7")
    return Response("\r\n".join(a for a, _ in answers) + "\r\n", media_type="application/hl7-v2")
