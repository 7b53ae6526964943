"""Planning JSON API: pool advice, the capacity model, a round's schedule."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission
from tongxin.planning.capacity import analyse, require
from tongxin.planning.pages import SIMULATE_MAX_EVENTS, too_large_to_simulate_here
from tongxin.planning.rules import PlanningError, advise_pool_size
from tongxin.planning.schemas import CapacityQuery
from tongxin.planning.service import build_schedule, prevalence_from_results, schedule_json
from tongxin.planning.simulation import simulate
from tongxin.screening.pages import Viewer, district_round
from tongxin.settings import Settings
from tongxin.web.deps import RequestSession, api_requires, api_user, scope_of
from tongxin.web.openapi import error_responses

router = APIRouter(prefix="/api/v1/planning", tags=["planning"])


def _refused(exc: PlanningError, where: str = "query") -> HTTPException:
    # FastAPI's own validation-error shape, so clients read every 422 the same way.
    return HTTPException(
        status_code=422, detail=[{"loc": [where, exc.field], "msg": str(exc), "type": exc.code}]
    )


@router.get(
    "/pool",
    dependencies=[api_requires(Permission.SCREENING_READ)],
    responses=error_responses(401, 403),
)
def pool_advice(
    prevalence: float | None = Query(None, ge=0, lt=1),
    session: Session = RequestSession,
) -> dict[str, Any]:
    """Advise the pool size; without a prevalence, estimate it from earlier results."""
    estimate = prevalence_from_results(session)
    if prevalence is None:
        if estimate is None:
            raise _refused(
                PlanningError(
                    "no_results", "prevalence", "no prevalence given and no earlier results"
                )
            )
        prevalence = estimate.estimate
    out = advise_pool_size(prevalence).as_dict()
    out["prevalence_estimate"] = estimate.as_dict() if estimate else None
    return out


# A calculation that changes nothing: GET, so a signed-in page's script needs no CSRF token.
@router.get(
    "/capacity",
    dependencies=[api_requires(Permission.SCREENING_READ)],
    responses=error_responses(401, 403),
)
def capacity(body: CapacityQuery = Depends()) -> dict[str, Any]:
    """Answer the capacity question (forward or reverse; simulated on request)."""
    try:
        inputs = body.inputs()
        if body.mode == "reverse":
            return require(inputs).as_dict()
        out: dict[str, Any] = {"analytic": analyse(inputs).as_dict()}
        if body.simulate:
            refusal = too_large_to_simulate_here(inputs)
            if refusal is not None:
                raise PlanningError("too_large", refusal[0], refusal[2])
            out["simulation"] = simulate(inputs, seed=1, max_events=SIMULATE_MAX_EVENTS).as_dict()
        return out
    except PlanningError as exc:
        raise _refused(exc) from None


@router.get(
    "/rounds/{code}/schedule",
    dependencies=[api_requires(Permission.SCREENING_ROUND_MANAGE)],
    responses=error_responses(401, 403, 404),
)
def round_schedule(
    request: Request,
    code: str,
    session: Session = RequestSession,
    user: User = Depends(api_user),
) -> dict[str, Any]:
    """Return a round's staggered schedule (or the problems that stop it)."""
    settings: Settings = request.app.state.settings
    rnd = district_round(session, Viewer(user, scope_of(session, user)), code)
    try:
        return schedule_json(build_schedule(session, rnd=rnd, settings=settings))
    except PlanningError as exc:
        raise _refused(exc, "data") from None
