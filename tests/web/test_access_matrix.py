"""Each role x each route x a target inside and outside the jurisdiction: allowed or denied.

Nothing here lists outcomes by hand. A user is allowed a route when their role holds the
route's permission (ROLE_PERMISSIONS) and the target lies in a place they cover, which this
module models on its own: every user has a place (community A, district 1, lab 1, or the
whole system) and every target a set of place tags. Otherwise the answer is 403 (no
permission, or a district-wide page asked by a smaller jurisdiction) or 404 (the target's
existence is private). One app and one database serve the whole module.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.conftest import _empty_all_tables
from tests.factories.registry import add_residents
from tests.factories.screening import ROUND_START, build_round
from tests.integration.screening.custody import (
    close,
    hand_over,
    receive,
    rejected_event,
    residents,
    result,
    seal,
    swab,
)
from tests.web.conftest import add_user, form_token, post_form, sign_in
from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission, Role, may
from tongxin.db import make_sessionmaker, session_scope
from tongxin.hotline.rules import Urgency
from tongxin.hotline.schemas import IntakeIn
from tongxin.hotline.service import add_hotline, take_call
from tongxin.registry.queries import Scope
from tongxin.registry.rules import AreaLevel
from tongxin.registry.service import add_area
from tongxin.screening.rules import Zone
from tongxin.screening.setup import add_lab, add_site, create_round
from tongxin.settings import Settings
from tongxin.web.app import create_app
from tongxin.web.deps import route_table

P = Permission

# Where a user sits -> the place tags they cover. None is a system-wide user.
COVERS: dict[str | None, frozenset[str]] = {
    "A": frozenset({"A"}),
    "D1": frozenset({"D1", "A", "B"}),
    "LAB1": frozenset({"LAB1"}),
}
# Pages that show a whole district (every community's places and people).
DISTRICT_PLACES = frozenset({None, "D1"})


@dataclass(frozen=True)
class Target:
    """A value put in the URL or form, and the places it belongs to."""

    value: str
    tags: frozenset[str]


@dataclass(frozen=True)
class Case:
    """One route: how to call it and what it needs; `{}` in path/query/form takes the target."""

    method: str
    route: str  # the route's path template, to check every route is covered
    permission: Permission
    url: str
    target: str | None = None  # key into the world's targets: "area", "resident", ...
    form: dict[str, str] = field(default_factory=dict)
    upload: bool = False
    district_wide: bool = False
    ok: frozenset[int] = frozenset({200, 303})


CASES = [
    Case("GET", "/", P.REGISTRY_READ, "/"),
    Case("GET", "/areas/{code}", P.REGISTRY_READ, "/areas/{}", "area"),
    Case("GET", "/areas/{code}/cards", P.REGISTRY_READ, "/areas/{}/cards", "building"),
    Case("GET", "/residents", P.REGISTRY_READ, "/residents?area={}", "area"),
    Case("GET", "/residents/{resident_code}", P.REGISTRY_READ, "/residents/{}", "resident"),
    Case("GET", "/registry/import", P.REGISTRY_IMPORT, "/registry/import"),
    # A sheet with one bad row: the import runs and refuses it (422) without writing.
    Case(
        "POST",
        "/registry/import",
        P.REGISTRY_IMPORT,
        "/registry/import",
        "area",
        form={"community": "{}"},
        upload=True,
        ok=frozenset({422}),
    ),
    Case("GET", "/api/v1/areas", P.REGISTRY_READ, "/api/v1/areas"),
    Case("GET", "/api/v1/areas/{code}", P.REGISTRY_READ, "/api/v1/areas/{}", "area"),
    Case("GET", "/api/v1/residents", P.REGISTRY_READ, "/api/v1/residents?area={}", "area"),
    Case(
        "GET",
        "/api/v1/residents/{resident_code}",
        P.REGISTRY_READ,
        "/api/v1/residents/{}",
        "resident",
    ),
    Case("GET", "/rounds", P.SCREENING_READ, "/rounds"),
    Case("GET", "/rounds/{code}", P.SCREENING_READ, "/rounds/{}", "round"),
    Case(
        "GET", "/rounds/{code}/sites/{site_code}", P.SCREENING_READ, "/rounds/R1/sites/{}", "site"
    ),
    Case("GET", "/rounds/{code}/search", P.SCREENING_READ, "/rounds/R1/search?q={}", "tube"),
    Case(
        "GET",
        "/rounds/{code}/mismatches",
        P.SCREENING_RECONCILE,
        "/rounds/{}/mismatches",
        "round",
        district_wide=True,
    ),
    Case(
        "GET",
        "/rounds/{code}/rejected",
        P.SCREENING_RECONCILE,
        "/rounds/{}/rejected",
        "round",
        district_wide=True,
    ),
    Case(
        "POST",
        "/rounds/{code}/rejected/{event_id}/resolve",
        P.SCREENING_RESOLVE,
        "/rounds/{}/resolve",  # the event target is "<round>/rejected/<event id>"
        "event",
        form={"resolution": "已核对"},
        district_wide=True,
    ),
    Case(
        "POST",
        "/rounds/{code}/rejected/{event_id}/resubmit",
        P.SCREENING_RESOLVE,
        "/rounds/{}/resubmit",
        "event",
        district_wide=True,
    ),
    Case("GET", "/rounds/{code}/recalls", P.RECALL_READ, "/rounds/{}/recalls", "round"),
    Case("GET", "/audit", P.AUDIT_READ, "/audit"),
    Case("GET", "/planning/capacity", P.SCREENING_READ, "/planning/capacity?population=10000"),
    Case(
        "GET",
        "/planning/rounds/{code}/schedule",
        P.SCREENING_ROUND_MANAGE,
        "/planning/rounds/{}/schedule",
        "round",
        district_wide=True,
    ),
    Case(
        "GET",
        "/planning/rounds/{code}/schedule/sites/{site_code}",
        P.SCREENING_ROUND_MANAGE,
        "/planning/rounds/R1/schedule/sites/{}",
        "site",
        district_wide=True,
    ),
    Case(
        "GET",
        "/planning/rounds/{code}/home-visits",
        P.SCREENING_EXPORT,
        "/planning/rounds/{}/home-visits",
        "round",
        district_wide=True,
    ),
    Case("GET", "/api/v1/planning/pool", P.SCREENING_READ, "/api/v1/planning/pool?prevalence=0.01"),
    Case(
        "GET",
        "/api/v1/planning/capacity",
        P.SCREENING_READ,
        "/api/v1/planning/capacity?population=10000",
    ),
    Case(
        "GET",
        "/api/v1/planning/rounds/{code}/schedule",
        P.SCREENING_ROUND_MANAGE,
        "/api/v1/planning/rounds/{}/schedule",
        "round",
        district_wide=True,
    ),
    Case(
        "POST",
        "/rounds/{code}/recalls/step",
        P.RECALL_MANAGE,
        "/rounds/R1/recalls/step",
        "recall",
        form={"tube": "{}", "position": "1", "type": "recall_notified"},
    ),
    # Supplies are kept for the whole operation (no jurisdiction narrows them); allocating
    # reaches only areas inside the officer's. The empty world has no warehouse, so a valid
    # area gets as far as the refused form (422).
    Case("GET", "/supplies/donations", P.SUPPLIES_MANAGE, "/supplies/donations"),
    Case(
        "POST",
        "/supplies/donations",
        P.SUPPLIES_MANAGE,
        "/supplies/donations",
        form={"donor": "某公司", "warehouse": "NONE"},
        ok=frozenset({422}),
    ),
    Case(
        "GET",
        "/supplies/donations/{number}",
        P.SUPPLIES_MANAGE,
        "/supplies/donations/JZ0",
        ok=frozenset({404}),
    ),
    Case("GET", "/supplies/stock", P.SUPPLIES_MANAGE, "/supplies/stock"),
    Case("GET", "/supplies/stock.xlsx", P.SUPPLIES_MANAGE, "/supplies/stock.xlsx"),
    Case("GET", "/supplies/packages", P.SUPPLIES_MANAGE, "/supplies/packages"),
    Case(
        "POST",
        "/supplies/packages/assemble",
        P.SUPPLIES_MANAGE,
        "/supplies/packages/assemble",
        form={"package": "NONE", "count": "1", "warehouse": "NONE"},
        ok=frozenset({422}),
    ),
    # The set-up forms get a refused input, so no role's run stores anything.
    Case("GET", "/supplies/items", P.SUPPLIES_MANAGE, "/supplies/items"),
    Case(
        "POST",
        "/supplies/items",
        P.SUPPLIES_MANAGE,
        "/supplies/items",
        form={"code": "", "name": "蔬菜", "unit": "kg"},
        ok=frozenset({422}),
    ),
    Case("GET", "/supplies/warehouses", P.SUPPLIES_MANAGE, "/supplies/warehouses"),
    Case(
        "POST",
        "/supplies/warehouses",
        P.SUPPLIES_MANAGE,
        "/supplies/warehouses",
        form={"code": "", "name": "仓库"},
        ok=frozenset({422}),
    ),
    Case(
        "POST",
        "/supplies/packages/define",
        P.SUPPLIES_MANAGE,
        "/supplies/packages/define",
        form={"code": "PKG", "name": "蔬菜包"},
        ok=frozenset({422}),
    ),
    Case("GET", "/logistics/drivers", P.SUPPLIES_MANAGE, "/logistics/drivers"),
    Case(
        "POST",
        "/logistics/drivers",
        P.SUPPLIES_MANAGE,
        "/logistics/drivers",
        form={"name": ""},
        ok=frozenset({422}),
    ),
    Case("GET", "/logistics/vehicles", P.SUPPLIES_MANAGE, "/logistics/vehicles"),
    Case(
        "POST",
        "/logistics/vehicles",
        P.SUPPLIES_MANAGE,
        "/logistics/vehicles",
        form={"driver": "999", "plate": "贵A1", "capacity_kg": "100", "depot": "NONE"},
        ok=frozenset({422}),
    ),
    Case("GET", "/supplies/institutions", P.SUPPLIES_MANAGE, "/supplies/institutions"),
    Case(
        "POST",
        "/supplies/institutions",
        P.SUPPLIES_MANAGE,
        "/supplies/institutions",
        form={"kind": "school", "name": "", "address": "某路"},
        ok=frozenset({422}),
    ),
    Case(
        "POST",
        "/supplies/allocations/institutions",
        P.SUPPLIES_MANAGE,
        "/supplies/allocations/institutions",
        form={"item": "NONE", "warehouse": "NONE", "delivery_date": "2022-09-21"},
        ok=frozenset({422}),
    ),
    Case(
        "POST",
        "/supplies/allocations/{allocation_id}/orders/{order_id}/pin-reset",
        P.SUPPLIES_MANAGE,
        "/supplies/allocations/999/orders/999/pin-reset",
        ok=frozenset({404}),
    ),
    Case("GET", "/supplies/allocations", P.SUPPLIES_MANAGE, "/supplies/allocations"),
    Case(
        "POST",
        "/supplies/allocations",
        P.SUPPLIES_MANAGE,
        "/supplies/allocations",
        "area",
        form={"area": "{}", "item": "NONE", "warehouse": "NONE", "delivery_date": "2022-09-21"},
        ok=frozenset({422}),
    ),
    *(
        Case("GET", route, P.SUPPLIES_MANAGE, route.replace(param, "999"), ok=frozenset({404}))
        for route, param in (
            ("/supplies/allocations/{allocation_id}", "{allocation_id}"),
            ("/supplies/allocations/{allocation_id}/orders.xlsx", "{allocation_id}"),
            ("/supplies/donors/{donor_id}", "{donor_id}"),
            ("/supplies/donors/{donor_id}/report.xlsx", "{donor_id}"),
            ("/logistics/trips/{trip_id}", "{trip_id}"),
        )
    ),
    Case(
        "GET",
        "/logistics/driver/trips/{trip_id}",
        P.SHIFTS_SIGN_UP,
        "/logistics/driver/trips/999",
        ok=frozenset({404}),
    ),
    Case("GET", "/logistics/dispatch", P.SUPPLIES_MANAGE, "/logistics/dispatch?day=2022-09-21"),
    Case(
        "POST",
        "/logistics/dispatch/plan",
        P.SUPPLIES_MANAGE,
        "/logistics/dispatch/plan",
        form={"day": "2022-09-21"},
        ok=frozenset({422}),
    ),
    Case("GET", "/logistics/trip-log.xlsx", P.SUPPLIES_MANAGE, "/logistics/trip-log.xlsx"),
    Case("GET", "/logistics/driver", P.SHIFTS_SIGN_UP, "/logistics/driver"),
    Case(
        "POST",
        "/logistics/driver/trips/{trip_id}/confirm",
        P.SHIFTS_SIGN_UP,
        "/logistics/driver/trips/999/confirm",
        form={"order": "1", "pin": "0000"},
        ok=frozenset({404}),
    ),
    # User administration: a name nobody has, so the module's users stay as they are; an
    # administrator gets past the permission to the 404 of the unknown user.
    Case("GET", "/admin/users", P.USERS_MANAGE, "/admin/users"),
    *(
        Case(
            method,
            f"/admin/users/{{username}}/{action}",
            P.USERS_MANAGE,
            f"/admin/users/nobody/{action}",
            ok=frozenset({404}),
        )
        for method, action in (
            ("POST", "disable"),
            ("POST", "enable"),
            ("GET", "password"),
            ("POST", "password"),
        )
    ),
]

OK_422 = frozenset({422})
# Hotline: the desk, board and statistics need no target; a case is "inside" when routed to
# community A. Steps may be refused by the case's state (409) once an earlier user moved it.
CASES += [
    Case("GET", "/hotline", P.HOTLINE_CASES, "/hotline"),
    Case("POST", "/hotline/intake", P.HOTLINE_CASES, "/hotline/intake", ok=frozenset({422})),
    Case("GET", "/hotline/cases/{code}", P.HOTLINE_CASES, "/hotline/cases/{}", "case"),
    Case(
        "POST",
        "/hotline/cases/{code}/step",
        P.HOTLINE_CASES,
        "/hotline/cases/{}/step",
        "case",
        form={"action": "start"},
        ok=frozenset({303, 409}),
    ),
    Case(
        "POST",
        "/hotline/cases/{code}/note",
        P.HOTLINE_CASES,
        "/hotline/cases/{}/note",
        "case",
        form={"kind": "note", "text": "已联系"},
    ),
    Case(
        "POST",
        "/hotline/cases/{code}/work",
        P.HOTLINE_CASES,
        "/hotline/cases/{}/work",
        "case",
        form={"kind": "home_visit", "details": "上门看看"},
    ),
    Case(
        "POST",
        "/hotline/cases/{code}/follow-up",
        P.HOTLINE_CASES,
        "/hotline/cases/{}/follow-up",
        "case",
        form={"satisfaction": "5"},
        ok=frozenset({409}),  # the case is not closed
    ),
    Case(
        "POST",
        "/hotline/cases/{code}/reassign",
        P.HOTLINE_SUPERVISE,
        "/hotline/cases/{}/reassign",
        "case",
        form={"area": "520113001001"},
    ),
    Case("GET", "/hotline/board", P.HOTLINE_SUPERVISE, "/hotline/board"),
    Case("GET", "/hotline/stats", P.HOTLINE_SUPERVISE, "/hotline/stats"),
    Case("GET", "/hotline/stats.xlsx", P.HOTLINE_SUPERVISE, "/hotline/stats.xlsx"),
    # An empty JSON body: a permitted caller gets past access to the 422.
    Case(
        "POST",
        "/api/v1/hotline/cases",
        P.HOTLINE_CASES,
        "/api/v1/hotline/cases",
        ok=frozenset({422}),
    ),
    Case(
        "GET", "/api/v1/hotline/cases/{code}", P.HOTLINE_CASES, "/api/v1/hotline/cases/{}", "case"
    ),
    Case(
        "POST",
        "/api/v1/hotline/cases/{code}/updates",
        P.HOTLINE_CASES,
        "/api/v1/hotline/cases/NONE/updates",
        ok=frozenset({422}),
    ),
    Case("GET", "/api/v1/hotline/residents", P.HOTLINE_CASES, "/api/v1/hotline/residents?q=居民"),
    Case(
        "GET",
        "/api/v1/hotline/open-cases",
        P.HOTLINE_CASES,
        "/api/v1/hotline/open-cases?phone=13800000000",
    ),
    Case("GET", "/api/v1/hotline/suggest", P.HOTLINE_CASES, "/api/v1/hotline/suggest?text=发烧"),
]

# Each role sits in community A (a lab receiver at lab 1); two more users show the wider
# jurisdictions: a commander of the whole district, an administrator of the whole system.
USERS: dict[str, tuple[Role, str | None]] = {
    **{role.value: (role, "LAB1" if role is Role.LAB_RECEIVER else "A") for role in Role},
    "commander_of_district": (Role.COMMANDER, "D1"),
    "admin_of_system": (Role.ADMIN, None),
}


@dataclass
class World:
    targets: dict[str, dict[str, Target]]  # kind -> {"inside": ..., "outside": ...}
    ids: dict[str, int]


def _bad_sheet() -> bytes:
    out = io.StringIO()
    header = ["姓名", "性别", "出生日期", "身份证号", "手机号", "小区", "楼栋", "单元", "房号"]
    row = ["王五", "男", "1980-05-17", "123", "13900001234", "尖山小区", "1栋", "1单元", "1"]
    csv.writer(out, lineterminator="\r\n").writerows([header, row])
    return out.getvalue().encode("utf-8")


def _build(engine: Engine, password_hash: str) -> World:
    with session_scope(make_sessionmaker(engine)) as s:
        r = build_round(s, residents=10)  # R1 over district 1; lab 1; site S1 in community A
        add_residents(s, r.tree.other_household, 3, start=100)
        lab2 = add_lab(s, code="LAB2", name="迪安检测", round=r.round)
        _, stations_b = add_site(
            s,
            round=r.round,
            code="S2",
            name="尖山社区广场",
            area=r.tree.other_community,
            stations=1,
        )
        people = residents(s)
        # One positive tube per community, each packed at its community's site and received
        # by a different lab, so each has recalls of its own.
        r_b = dataclasses.replace(r, stations=stations_b, lab=lab2)
        for setup, barcode, members, box in (
            (r, r.tubes10[0], people[:10], "BA"),
            (r_b, r.tubes10[1], people[10:], "BB"),
        ):
            swab(s, setup, barcode, members)
            close(s, barcode)
            sealed = seal(s, setup, box, [barcode])
            hand_over(s, setup, sealed)
            receive(s, setup, sealed)
            result(s, setup, barcode, "positive")
        event_1 = rejected_event(s, r, code="tube_full", payload={"type": "swab_taken"})
        # A second district with its own round: outside every district-1 user.
        d2 = add_area(s, code="520112", name="乌当区", level=AreaLevel.DISTRICT)
        st2 = add_area(s, code="520112001", name="新天街道", level=AreaLevel.STREET, parent=d2)
        c2 = add_area(
            s, code="520112001001", name="新天社区", level=AreaLevel.COMMUNITY, parent=st2
        )
        r2 = create_round(
            s,
            code="R2",
            name="乌当第一轮",
            district=d2,
            targets=[(c2, Zone.PRECAUTION)],
            starts_at=ROUND_START,
        )
        event_2 = rejected_event(
            s, dataclasses.replace(r, round=r2), code="tube_full", payload={"type": "swab_taken"}
        )
        places = {"A": r.tree.community.id, "D1": r.tree.district.id}
        ids = {}
        for username, (role, place) in USERS.items():
            add_user(
                s,
                password_hash,
                username,
                role,
                jurisdiction_id=places.get(place) if place else None,
            )
            ids[username] = s.query(User.id).filter(User.username == username).scalar()
            if place == "LAB1":
                s.query(User).filter(User.username == username).update({"lab_id": r.lab.id})
        # A hotline over district 1 with one case routed to each community.
        hotline_admin = s.query(User).filter(User.username == "admin_of_system").one()
        add_hotline(
            s,
            code="QH-01",
            name="泉湖热线",
            number="0851-1",
            organisation="泉湖街道",
            jurisdiction=r.tree.district,
            hours="24小时",
        )
        case_codes = [
            take_call(
                s,
                intake=IntakeIn(
                    hotline="QH-01",
                    caller_phone=person.phone or "13800000000",
                    resident_code=person.resident_code,
                    description="家里老人降压药吃完了",
                ),
                user=hotline_admin,
                scope=Scope.everything(),
                now=ROUND_START,
                deadlines={u: 12.0 for u in Urgency},
            ).case.code
            for person in (people[0], people[10])
        ]
        round_1 = frozenset({"D1", "A", "B", "LAB1"})
        targets = {
            "area": {
                "inside": Target(r.tree.community.code, frozenset({"A"})),
                "outside": Target(r.tree.other_community.code, frozenset({"B"})),
            },
            "building": {
                "inside": Target(r.tree.building.code, frozenset({"A"})),
                "outside": Target(r.tree.other_building.code, frozenset({"B"})),
            },
            "resident": {
                "inside": Target(people[0].resident_code, frozenset({"A"})),
                "outside": Target(people[10].resident_code, frozenset({"B"})),
            },
            "round": {
                "inside": Target("R1", round_1),
                "outside": Target("R2", frozenset({"D2"})),
            },
            "site": {
                "inside": Target("S1", frozenset({"A"})),
                "outside": Target("S2", frozenset({"B"})),
            },
            "tube": {
                "inside": Target(r.tubes10[0], frozenset({"A", "LAB1"})),
                "outside": Target(r.tubes10[1], frozenset({"B"})),
            },
            "recall": {
                "inside": Target(r.tubes10[0], frozenset({"A"})),
                "outside": Target(r.tubes10[1], frozenset({"B"})),
            },
            "case": {
                "inside": Target(case_codes[0], frozenset({"A"})),
                "outside": Target(case_codes[1], frozenset({"B"})),
            },
            "event": {
                "inside": Target(f"R1/rejected/{event_1.id}", round_1),
                "outside": Target(f"R2/rejected/{event_2.id}", frozenset({"D2"})),
            },
        }
        return World(targets, ids)


@pytest.fixture(scope="module")
def world(engine: Engine, password_hash: str) -> Iterator[World]:
    """Build the two-district world once for the module and empty the database after it."""
    yield _build(engine, password_hash)
    _empty_all_tables(engine)


@pytest.fixture(scope="module")
def clients(settings: Settings, engine: Engine, world: World) -> Iterator[dict[str, TestClient]]:
    """One signed-in client per user, all on one app."""
    app = create_app(settings, engine=engine)
    signed_in = {}
    with TestClient(app) as first:
        for username in USERS:
            client = TestClient(app)
            sign_in(client, username)
            signed_in[username] = client
        signed_in[""] = first  # signed out
        yield signed_in


def expected(username: str, case: Case, target: Target | None) -> int | None:
    """Return the status a denial must have (403/404), or None when the user is let in."""
    role, place = USERS[username]
    if not may(role, case.permission):
        return 403
    if target is not None and place is not None and not (COVERS[place] & target.tags):
        return 404
    if case.district_wide and place not in DISTRICT_PLACES:
        return 403
    return None


def _call(client: TestClient, case: Case, target: Target | None) -> Any:
    value = target.value if target is not None else ""
    url = case.url.replace("{}", value)
    form = {k: v.replace("{}", value) for k, v in case.form.items()}
    if case.method == "GET":
        return client.get(url, follow_redirects=False)
    if url.startswith("/api/"):
        # The JSON API takes the CSRF token as a header, as the pages' scripts send it.
        headers = {"X-CSRF-Token": form_token(client, "/login")}
        return client.post(url, json=form, headers=headers, follow_redirects=False)
    files = {"file": ("居民.csv", _bad_sheet(), "text/csv")} if case.upload else None
    return post_form(client, url, form, files=files, follow_redirects=False)


MATRIX = [
    pytest.param(username, case, where, id=f"{username}-{case.method}{case.route}-{where}")
    for case in CASES
    for username in USERS
    for where in (("inside", "outside") if case.target else ("none",))
]


@pytest.mark.parametrize(("username", "case", "where"), MATRIX)
def test_access(
    clients: dict[str, TestClient], world: World, username: str, case: Case, where: str
) -> None:
    target = world.targets[case.target][where] if case.target else None
    answer = _call(clients[username], case, target)
    denial = expected(username, case, target)
    if denial is None:
        assert answer.status_code in case.ok, answer.text[:500]
        assert "/login" not in answer.headers.get("location", "")
    else:
        assert answer.status_code == denial, answer.text[:500]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method}{c.route}")
def test_signed_out_callers_are_sent_to_sign_in_or_refused(
    clients: dict[str, TestClient], world: World, case: Case
) -> None:
    target = world.targets[case.target]["inside"] if case.target else None
    answer = _call(clients[""], case, target)
    if case.url.startswith("/api/"):
        assert answer.status_code == 401
    else:
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")


def test_the_matrix_covers_every_route_that_needs_a_permission(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings, engine=engine)
    needing = {
        (method, r.path)
        for r in route_table(app)
        for method in r.methods - {"HEAD"}
        if any(a.kind == "permission" for a in r.declared or ())
    }
    covered = {(c.method, c.route) for c in CASES}
    assert needing == covered
    declared = {
        (method, r.path): a.permission
        for r in route_table(app)
        for method in r.methods
        for a in r.declared or ()
    }
    for c in CASES:
        assert declared[(c.method, c.route)] == c.permission, c.route


def test_device_routes_answer_401_to_every_signed_in_user_without_a_device_token(
    clients: dict[str, TestClient], settings: Settings, engine: Engine
) -> None:
    # A session cookie is never a device: the field context and the capture reads need the
    # bearer token of a device, whatever the user's role.
    app = create_app(settings, engine=engine)
    paths = sorted(
        re.sub(r"\{[^}]+\}", "x", r.path)
        for r in route_table(app)
        if "GET" in r.methods and any(a.kind == "device" for a in r.declared or ())
    )
    assert "/api/v1/field/context" in paths
    for username, client in clients.items():
        for path in paths:
            assert client.get(path).status_code == 401, (username or "signed out", path)


def test_the_menu_offers_only_what_the_role_may_open(clients: dict[str, TestClient]) -> None:
    worker = clients["community_worker"].get("/").text
    lab = clients["lab_receiver"].get("/rounds").text

    assert 'href="/residents"' in worker and 'href="/rounds"' in worker
    assert 'href="/rounds"' in lab
    assert 'href="/residents"' not in lab and 'href="/registry/import"' not in lab
