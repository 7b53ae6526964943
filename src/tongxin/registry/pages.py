"""Registry pages: the area tree (home), the resident list and detail, the import upload."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission
from tongxin.audit.context import web_actor
from tongxin.audit.service import record
from tongxin.privacy.rules import Detail, shown
from tongxin.privacy.service import RevealRefused
from tongxin.registry import cards, queries, search
from tongxin.registry.models import Area
from tongxin.registry.rules import AreaLevel
from tongxin.settings import Settings
from tongxin.web.deps import RequestSession, page_scope, page_user, request_viewer, requires
from tongxin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)

# Uploads bigger than this are refused before parsing; a 1 M-row sheet is far below it.
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
SEARCH_FIELDS = ("area", "name", "phone", "id_suffix", "building")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/", dependencies=[requires(Permission.REGISTRY_READ)])
def home(
    request: Request,
    session: Session = RequestSession,
    scope: queries.Scope = Depends(page_scope),
) -> Response:
    """Show the area tree at the user's jurisdiction root with resident counts."""
    roots = queries.scope_roots(session, scope)
    if len(roots) == 1:
        return _area_page(request, session, scope, roots[0])
    return render(
        request,
        "registry/roots.html",
        {"roots": queries.area_counts(session, roots), "crumbs": []},
    )


@router.get("/areas/{code}", dependencies=[requires(Permission.REGISTRY_READ)])
def area_page(
    request: Request,
    code: str,
    session: Session = RequestSession,
    scope: queries.Scope = Depends(page_scope),
) -> Response:
    """Show one node of the tree: its children with counts, or its households and people."""
    area = queries.visible_area(session, scope, code)
    if area is None:
        raise HTTPException(status_code=404)
    return _area_page(request, session, scope, area)


@router.get("/areas/{code}/cards", dependencies=[requires(Permission.REGISTRY_READ)])
def cards_page(
    request: Request,
    code: str,
    session: Session = RequestSession,
    scope: queries.Scope = Depends(page_scope),
) -> Response:
    """Show a building's household cards as print-ready A4 pages."""
    area = queries.visible_area(session, scope, code)
    if area is None or area.level != AreaLevel.BUILDING:
        raise HTTPException(status_code=404)
    sheet = cards.building_cards(session, building=area)
    return render(
        request,
        "registry/cards.html",
        {
            "sheet": sheet,
            "sheet_markup": cards.sheet_markup(sheet),
            "crumbs": queries.breadcrumb(session, scope, area),
        },
    )


def _area_page(request: Request, session: Session, scope: queries.Scope, area: Area) -> Response:
    view = queries.area_view(session, area=area)
    settings = _settings(request)
    return render(
        request,
        "registry/area.html",
        {
            "view": view,
            "crumbs": queries.breadcrumb(session, scope, area),
            "groups_of": lambda r: search.resident_groups(
                r,
                today=date.today(),
                elderly_age=settings.elderly_age,
                child_age=settings.child_age,
            ),
            "leaf": area.level in (AreaLevel.BUILDING, AreaLevel.UNIT),
        },
    )


@router.get("/residents", dependencies=[requires(Permission.REGISTRY_READ)])
def residents_page(
    request: Request,
    area: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    id_suffix: str | None = None,
    building: str | None = None,
    after: str | None = None,
    session: Session = RequestSession,
    scope: queries.Scope = Depends(page_scope),
) -> Response:
    """List residents with search and keyset pagination ("下一页" carries the last id)."""
    settings = _settings(request)
    form = {
        "area": area or "",
        "name": name or "",
        "phone": phone or "",
        "id_suffix": id_suffix or "",
        "building": building or "",
    }
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
            limit=settings.page_size,
        )
    except search.AreaNotVisible:
        raise HTTPException(status_code=404) from None
    except search.SearchError as problem:
        return render(
            request,
            "registry/residents.html",
            _list_context(session, scope, form, None, None, error=problem),
            status_code=400,
        )
    page = search.search_residents(
        session,
        scope=scope,
        search=wanted,
        today=date.today(),
        elderly_age=settings.elderly_age,
        child_age=settings.child_age,
    )
    return render(
        request,
        "registry/residents.html",
        _list_context(session, scope, form, wanted, page, error=None),
    )


def _list_context(
    session: Session,
    scope: queries.Scope,
    form: dict[str, str],
    wanted: search.ResidentSearch | None,
    page: search.ResidentPageData | None,
    *,
    error: search.SearchError | None,
) -> dict[str, Any]:
    shown = wanted.area if wanted is not None else None
    if shown is None:
        roots = queries.scope_roots(session, scope)
        shown = roots[0] if len(roots) == 1 else None
    kept = {k: v for k, v in form.items() if v}
    next_url = None
    if page is not None and page.next_after is not None:
        next_url = "/residents?" + urlencode({**kept, "after": page.next_after})
    return {
        "form": form,
        "page": page,
        "error": error,
        "area": shown,
        "crumbs": queries.breadcrumb(session, scope, shown) if shown is not None else [],
        "buildings": queries.buildings_under(session, shown) if shown is not None else [],
        "next_url": next_url,
        "first_url": "/residents?" + urlencode(kept) if wanted and wanted.after else None,
        "searching": bool(wanted and (not wanted.terms.empty or wanted.building)),
    }


@router.get("/residents/{resident_code}", dependencies=[requires(Permission.REGISTRY_READ)])
def resident_page(
    request: Request,
    resident_code: str,
    show: str | None = None,
    session: Session = RequestSession,
    scope: queries.Scope = Depends(page_scope),
    user: User = Depends(page_user),
) -> Response:
    """Show everything about one resident, with the resident code as a QR code.

    The ID number is masked; roles that need it get a "显示完整" link (`?show=id_number`),
    and the phone is whole for roles that call people. Every full value shown is noted.
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
        raise HTTPException(status_code=403) from None
    if opened is None:
        raise HTTPException(status_code=404)
    resident, view = opened
    settings = _settings(request)
    detail = search.resident_detail(
        session,
        resident=resident,
        today=date.today(),
        elderly_age=settings.elderly_age,
        child_age=settings.child_age,
    )
    qr = segno.make(resident.resident_code, error="m")
    return render(
        request,
        "registry/resident.html",
        {
            "detail": detail,
            "id_number": shown(resident.id_number, Detail.ID_NUMBER, full=view.full_id),
            "id_revealed": view.full_id,
            "may_reveal_id": view.may_reveal_id and not view.full_id,
            "phone": shown(resident.phone, Detail.PHONE, full=view.full_phone),
            "crumbs": queries.breadcrumb(session, scope, detail.address[-1]),
            # Markup is safe here: segno draws the code as SVG paths and writes no input text
            # into the markup (and resident codes are ours, not typed).
            "qr_svg": Markup(qr.svg_inline(dark="#1f2933", border=2, omitsize=True)),
        },
    )


@router.get("/registry/import", dependencies=[requires(Permission.REGISTRY_IMPORT)])
def import_form(
    request: Request,
    session: Session = RequestSession,
    scope: queries.Scope = Depends(page_scope),
) -> Response:
    """Show the resident import form: a file and the community it belongs to."""
    return render(request, "registry/import.html", _import_context(session, scope))


def _import_context(session: Session, scope: queries.Scope, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "communities": queries.communities_in(session, scope),
        "community_required": not scope.whole,
        "chosen": "",
        "report": None,
        "error": None,
        "crumbs": [],
    }
    context.update(extra)
    return context


@router.post("/registry/import", dependencies=[requires(Permission.REGISTRY_IMPORT)])
def import_upload(
    request: Request,
    file: UploadFile = File(...),
    community: str = Form(""),
    session: Session = RequestSession,
    scope: queries.Scope = Depends(page_scope),
    user: User = Depends(page_user),
) -> Response:
    """Import an uploaded sheet all or nothing and show the report."""
    try:
        from tongxin.registry.importing import import_residents
    except ImportError:
        return _import_error(request, session, scope, community, search.N_("导入服务尚未安装"))
    chosen: Area | None = None
    if community.strip():
        chosen = queries.visible_area(session, scope, community.strip())
        if chosen is None or chosen.level != AreaLevel.COMMUNITY:
            # 404 like any page about a place outside the jurisdiction (or no place at all).
            return _import_error(
                request, session, scope, community, search.N_("找不到该社区"), status_code=404
            )
    elif not scope.whole:
        # Without a community the file could place people anywhere; scoped users must choose.
        return _import_error(request, session, scope, community, search.N_("请选择社区"))
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return _import_error(request, session, scope, community, search.N_("文件太大"))
    if not data:
        return _import_error(request, session, scope, community, search.N_("请选择要导入的文件"))
    report = import_residents(
        session,
        source=file.filename or "upload",
        data=data,
        community=chosen,
        today=date.today(),
        progress=None,
    )
    if not report.ok:
        # The service writes nothing on problems; rolling back makes that hold for this page.
        session.rollback()
    else:
        record(
            session,
            actor=web_actor(request, user),
            action="registry.import.apply",
            target_type="import",
            target_id=report.source,
            area=chosen,
            now=datetime.now(UTC),
            after=report.counts(),
        )
    return render(
        request,
        "registry/import.html",
        _import_context(
            session,
            scope,
            chosen=community,
            report=report,
            english=request_locale(request) == "en",
        ),
        status_code=200 if report.ok else 422,
    )


def _import_error(
    request: Request,
    session: Session,
    scope: queries.Scope,
    community: str,
    message: str,
    *,
    status_code: int = 400,
) -> Response:
    return render(
        request,
        "registry/import.html",
        _import_context(session, scope, chosen=community, error=message),
        status_code=status_code,
    )
