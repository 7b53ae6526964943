"""Planning pages: the capacity calculator and a round's staggered schedule.

The schedule spans a whole district (every community's buildings), so only users whose
jurisdiction is the round's district get it; door-to-door lists name people (masked) and
need the export permission, as the screening door-to-door lists do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.accounts.rules import Permission
from tongxin.planning.capacity import RoundInputs, analyse, require
from tongxin.planning.rules import PlanningError
from tongxin.planning.scheduler import CHINA, Slot
from tongxin.planning.schemas import CapacityQuery
from tongxin.planning.service import Schedule, build_schedule, site_chart
from tongxin.planning.simulation import simulate
from tongxin.registry.models import Area
from tongxin.screening.models import Round, Site
from tongxin.screening.pages import Viewer, district_round, viewer
from tongxin.settings import Settings
from tongxin.web.deps import RequestSession, requires
from tongxin.web.templating import render as render_page

router = APIRouter(include_in_schema=False)

MANAGE = [requires(Permission.SCREENING_ROUND_MANAGE)]
# The simulation runs in the request: keep it to rounds it answers in a few seconds. Its
# work grows with people, with sites times the hours they sample (one process per site,
# stepping every few minutes) and with vehicles; the CLI simulates any size.
SIMULATE_MAX_PEOPLE = 2_000_000
SIMULATE_MAX_SITE_HOURS = 12_000
SIMULATE_MAX_VEHICLES = 1_000
# Whatever else the inputs make it do (a courier every few seconds, say), a request's
# simulation stops after this many SimPy events, about ten seconds here.
SIMULATE_MAX_EVENTS = 2_000_000


def too_large_to_simulate_here(inputs: RoundInputs) -> tuple[str, str, str] | None:
    """Return (field, Chinese, English) when a request should not simulate these inputs."""
    cli = "tongxin plan capacity --simulate"
    if inputs.population > SIMULATE_MAX_PEOPLE:
        return (
            "population",
            f"仿真人数过多（至多 {SIMULATE_MAX_PEOPLE}），请使用命令行 {cli}",
            f"simulate at most {SIMULATE_MAX_PEOPLE} people here; use `{cli}`",
        )
    if inputs.sites * inputs.sampling_hours > SIMULATE_MAX_SITE_HOURS:
        return (
            "sites",
            f"采样点数×采样小时数超过 {SIMULATE_MAX_SITE_HOURS}，请使用命令行 {cli}",
            f"sites × sampling hours above {SIMULATE_MAX_SITE_HOURS} here; use `{cli}`",
        )
    if inputs.vehicles > SIMULATE_MAX_VEHICLES:
        return (
            "vehicles",
            f"仿真车辆过多（至多 {SIMULATE_MAX_VEHICLES}），请使用命令行 {cli}",
            f"simulate at most {SIMULATE_MAX_VEHICLES} vehicles here; use `{cli}`",
        )
    return None


def china_slot(slot: Slot) -> str:
    """Show a slot in China time as people on the ground read it: 09-23 08:00–08:30."""
    starts, ends = slot.starts.astimezone(CHINA), slot.ends.astimezone(CHINA)
    return f"{starts:%m-%d %H:%M}–{ends:%H:%M}"


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """Render a planning page with its slot formatter."""
    return render_page(
        request,
        name,
        {"crumbs": [], **context, "china_slot": china_slot},
        status_code=status_code,
    )


def _schedule(request: Request, session: Session, who: Viewer, code: str) -> Schedule:
    settings: Settings = request.app.state.settings
    rnd = district_round(session, who, code)
    try:
        return build_schedule(session, rnd=rnd, settings=settings)
    except PlanningError as exc:
        # Data the planner cannot use (a site without coordinates, say) is the page's
        # answer, not a server error.
        raise HTTPException(status_code=422, detail=f"{exc.field}: {exc}") from None


@router.get("/planning/capacity", dependencies=[requires(Permission.SCREENING_READ)])
def capacity_page(request: Request, query: CapacityQuery = Depends()) -> Response:
    """Show how long a round takes and its bottleneck, or (reverse) what it needs."""
    context: dict[str, Any] = {"q": query, "result": None, "need": None, "sim": None, "error": None}
    if not query.population:
        return render(request, "planning/capacity.html", context)
    try:
        inputs = query.inputs()
        if query.mode == "reverse":
            context["need"] = require(inputs)
        else:
            context["result"] = analyse(inputs)
            if query.simulate:
                refusal = too_large_to_simulate_here(inputs)
                if refusal is not None:
                    raise PlanningError("too_large", refusal[0], refusal[1])
                context["sim"] = simulate(inputs, seed=1, max_events=SIMULATE_MAX_EVENTS)
    except PlanningError as exc:
        context["error"] = f"{exc.field}: {exc}"
        return render(request, "planning/capacity.html", context, status_code=422)
    return render(request, "planning/capacity.html", context)


@router.get("/planning/rounds/{code}/schedule", dependencies=MANAGE)
def schedule_page(
    request: Request,
    code: str,
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Show a round's schedule: objective, bound and gap, sites, notices; or why it fails."""
    schedule = _schedule(request, session, who, code)
    return render(
        request,
        "planning/schedule.html",
        {"s": schedule, "rnd": schedule.data.round, "groups": _groups(schedule)},
    )


def _groups(schedule: Schedule) -> dict[str, Any]:
    return {g.key: g for g in schedule.data.groups}


@router.get("/planning/rounds/{code}/schedule/sites/{site_code}", dependencies=MANAGE)
def site_schedule_page(
    request: Request,
    code: str,
    site_code: str,
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Show one site's printable schedule and its queue chart."""
    # A site outside the user's jurisdiction does not exist for them (404), as on the
    # screening site page; inside it, the district-wide schedule still needs the district.
    area = session.scalar(
        select(Area)
        .join(Site, Site.area_id == Area.id)
        .join(Round, Round.id == Site.round_id)
        .where(Round.code == code, Site.code == site_code)
    )
    if not who.sees_area(area):
        raise HTTPException(status_code=404)
    schedule = _schedule(request, session, who, code)
    site = next((s for s in schedule.data.sites if s.code == site_code), None)
    if site is None:
        raise HTTPException(status_code=404)
    rows = sorted(
        (a for a in schedule.plan.assignments if a.site == site.id),
        key=lambda a: (a.slot, a.group),
    )
    return render(
        request,
        "planning/site.html",
        {
            "s": schedule,
            "rnd": schedule.data.round,
            "site": site,
            "rows": rows,
            "groups": _groups(schedule),
            # The SVG is built from numbers and escaped names (outputs.queue_chart_svg).
            "chart": Markup(site_chart(schedule, site)) if schedule.plan.feasible else None,
        },
    )


@router.get(
    "/planning/rounds/{code}/home-visits",
    dependencies=[requires(Permission.SCREENING_EXPORT)],
)
def home_visits_page(
    request: Request,
    code: str,
    session: Session = RequestSession,
    who: Viewer = Depends(viewer),
) -> Response:
    """Show the door-to-door lists per home-sampling team (names masked)."""
    schedule = _schedule(request, session, who, code)
    return render(request, "planning/home_visits.html", {"s": schedule, "rnd": schedule.data.round})
