"""Every route declares how it is reached, so no new route can escape access control."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tongxin.settings import Settings
from tongxin.web.app import PUBLIC_MOUNTS, create_app
from tongxin.web.deps import PUBLIC, RouteAccess, route_table


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[RouteAccess]:
    # No request is sent: an unmigrated SQLite file is enough to build the route table.
    path = tmp_path_factory.mktemp("routes") / "routes.db"
    app = create_app(Settings(database_url=f"sqlite:///{path}", secret_key="routes-test"))
    return route_table(app)


def _name(route: RouteAccess) -> str:
    return f"{'/'.join(sorted(route.methods))} {route.path}"


def test_every_route_declares_exactly_one_access(routes: list[RouteAccess]) -> None:
    declaring = [r for r in routes if r.declared is not None]
    undeclared = [_name(r) for r in declaring if not r.declared]
    doubled = [_name(r) for r in declaring if r.declared and len(r.declared) > 1]
    assert len(declaring) > 20, "the walk did not reach the included routers"
    assert not undeclared, (
        f"routes without requires()/api_requires()/PUBLIC/DEVICE_TOKEN: {undeclared}"
    )
    assert not doubled, f"routes declaring access more than once: {doubled}"


def test_routes_that_cannot_declare_are_the_listed_public_mounts(routes: list[RouteAccess]) -> None:
    others = {r.path for r in routes if r.declared is None}
    assert others <= PUBLIC_MOUNTS, f"not FastAPI routes and not in PUBLIC_MOUNTS: {others}"


def test_api_routes_answer_401_and_pages_redirect_to_sign_in(routes: list[RouteAccess]) -> None:
    # requires() redirects a signed-out browser, api_requires() answers 401 JSON: the
    # declaration must match where the route lives.
    for route in routes:
        for access in route.declared or ():
            if access.kind == "permission":
                assert access.api == route.path.startswith("/api/"), _name(route)


def test_the_field_app_shell_is_public_and_its_data_needs_a_device_token(
    routes: list[RouteAccess],
) -> None:
    # The shell (page, manifest, service worker, scripts) holds no data; what a device may
    # see comes only through its bearer token.
    field = {
        r.path: {a.kind for a in r.declared or ()}
        for r in routes
        if r.path.startswith(("/field", "/api/v1/field"))
    }
    api = {path: field.pop(path) for path in list(field) if path.startswith("/api/")}
    # The device context, and the courier's and lab's screens (decision 0009).
    assert {
        "/api/v1/field/context",
        "/api/v1/field/lab/boxes",
        "/api/v1/field/lab/results",
        "/api/v1/field/courier/boxes",
        "/api/v1/field/courier/badge.svg",
    } <= set(api)
    assert all(kinds == {"device"} for kinds in api.values()), api
    assert {"/field/", "/field/sw.js", "/field/manifest.webmanifest"} <= set(field)
    assert all(kinds == {"public"} for kinds in field.values()), field


def test_the_walk_notices_a_route_without_a_declaration() -> None:
    app = FastAPI()

    @app.get("/leak")
    def leak() -> dict[str, str]:
        return {}

    @app.get("/open", dependencies=[PUBLIC])
    def open_route() -> dict[str, str]:
        return {}

    declared = {r.path: r.declared for r in route_table(app) if r.declared is not None}
    assert declared["/leak"] == ()
    assert [a.kind for a in declared["/open"]] == ["public"]
