"""Registry JSON API under /api/v1: the same reads as the pages, for programs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission
from tongxin.audit.context import web_actor
from tongxin.privacy.rules import Detail, shown
from tongxin.privacy.service import RevealRefused
from tongxin.registry import queries, search
from tongxin.registry.models import Resident
from tongxin.registry.schemas import AreaNode, AreaOut, AreaTree, ResidentOut, ResidentPage
from tongxin.settings import Settings
from tongxin.web.deps import RequestSession, api_requires, api_scope, api_user, request_viewer
from tongxin.web.openapi import error_responses
from tongxin.web.templating import gettext_for

router = APIRouter(prefix="/api/v1", tags=["registry"])
READ = [api_requires(Permission.REGISTRY_READ)]


class SearchRejected(Exception):
    """A search parameter the API refuses; answered as a 422 like FastAPI's own."""

    def __init__(self, problem: search.SearchError, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


def search_rejected(_request: Request, exc: Exception) -> JSONResponse:
    """Answer a refused search parameter in FastAPI's validation-error shape."""
    assert isinstance(exc, SearchRejected)
    return JSONResponse(
        status_code=422,
        content={
            "detail": [
                {"loc": ["query", exc.problem.field], "msg": exc.message, "type": exc.problem.code}
            ]
        },
    )


def _node(count: queries.AreaCount) -> AreaNode:
    return AreaNode(area=AreaOut.model_validate(count.area), residents=count.residents)


@router.get(
    "/areas", response_model=list[AreaNode], dependencies=READ, responses=error_responses(401)
)
def list_roots(
    session: Session = RequestSession, scope: queries.Scope = Depends(api_scope)
) -> list[AreaNode]:
    """Return the root area(s) of the caller's jurisdiction with resident counts."""
    return [_node(c) for c in queries.area_counts(session, queries.scope_roots(session, scope))]


@router.get(
    "/areas/{code}",
    response_model=AreaTree,
    dependencies=READ,
    responses=error_responses(401, 404),
)
def get_area(
    code: str,
    session: Session = RequestSession,
    scope: queries.Scope = Depends(api_scope),
) -> AreaTree:
    """Return an area with its children and the residents living under each."""
    area = queries.visible_area(session, scope, code)
    if area is None:
        raise HTTPException(status_code=404, detail="area not found")
    view = queries.area_view(session, area=area)
    return AreaTree(
        area=AreaOut.model_validate(area),
        residents=view.residents,
        children=[_node(c) for c in view.children],
    )


def _out(
    resident: Resident, groups: list[str], *, full_id: bool = False, full_phone: bool = False
) -> ResidentOut:
    out = ResidentOut.model_validate(resident)
    out.groups = groups
    # Masked unless the caller decided (by role, and noted it) that the full value is shown.
    out.id_number = shown(resident.id_number, Detail.ID_NUMBER, full=full_id)
    out.phone = shown(resident.phone, Detail.PHONE, full=full_phone) or None
    return out


@router.get(
    "/residents",
    response_model=ResidentPage,
    dependencies=READ,
    responses=error_responses(401, 404),
)
def list_residents(
    request: Request,
    area: str | None = Query(None, description="Area code; the caller's jurisdiction if absent."),
    name: str | None = Query(None, description="Name, exact or prefix."),
    phone: str | None = Query(None, description="Phone suffix, at least 4 digits."),
    id_suffix: str | None = Query(None, description="ID number suffix, at least 4 characters."),
    building: str | None = Query(None, description="Building area code."),
    after: int | None = Query(None, ge=0, description="Keyset cursor: `next_after` of a page."),
    limit: int | None = Query(None, ge=1, le=search.MAX_LIMIT, description="Rows per page."),
    session: Session = RequestSession,
    scope: queries.Scope = Depends(api_scope),
) -> ResidentPage:
    """Return one page of residents matching the search, keyset-paginated by id."""
    settings: Settings = request.app.state.settings
    try:
        wanted = search.resolve_search(
            session,
            scope,
            area=area,
            building=building,
            name=name,
            phone=phone,
            id_suffix=id_suffix,
            after=after,
            limit=limit or settings.page_size,
        )
    except search.AreaNotVisible:
        raise HTTPException(status_code=404, detail="area not found") from None
    except search.SearchError as problem:
        raise SearchRejected(problem, gettext_for(request)(problem.message)) from None
    page = search.search_residents(
        session,
        scope=scope,
        search=wanted,
        today=date.today(),
        elderly_age=settings.elderly_age,
        child_age=settings.child_age,
    )
    return ResidentPage(
        items=[_out(i.resident, [g.value for g in i.groups]) for i in page.items],
        total=page.total,
        next_after=page.next_after,
    )


@router.get(
    "/residents/{resident_code}",
    response_model=ResidentOut,
    dependencies=READ,
    responses=error_responses(401, 404),
)
def get_resident(
    request: Request,
    resident_code: str,
    show: Literal["id_number"] | None = Query(
        None, description="`id_number`: the full ID number (roles that need it; audited)."
    ),
    session: Session = RequestSession,
    scope: queries.Scope = Depends(api_scope),
    user: User = Depends(api_user),
) -> ResidentOut:
    """Return one resident by resident code, with their groups today.

    The ID number is masked unless `show=id_number` and the caller's role may see it (403
    otherwise); the phone is whole for roles that call people. Full values are noted.
    """
    try:
        opened = search.open_record(
            session,
            scope,
            resident_code,
            actor=web_actor(request, user),
            viewer=request_viewer(request),
            reveal_id=show == Detail.ID_NUMBER.value,
            now=datetime.now(UTC),
        )
    except RevealRefused:
        raise HTTPException(
            status_code=403, detail="your role may not see full ID numbers"
        ) from None
    if opened is None:
        raise HTTPException(status_code=404, detail="resident not found")
    resident, view = opened
    settings: Settings = request.app.state.settings
    groups = search.resident_groups(
        resident, today=date.today(), elderly_age=settings.elderly_age, child_age=settings.child_age
    )
    return _out(
        resident, [g.value for g in groups], full_id=view.full_id, full_phone=view.full_phone
    )
