"""CSRF: every unsafe page request needs the session's token; bearer-token APIs do not."""

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.web.conftest import PASSWORD, form_token, post_form, sign_in
from tongxin.accounts.models import User
from tongxin.web.app import create_app
from tongxin.web.deps import RequestSession, api_user
from tongxin.web.templating import template_dirs

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def all_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Walk the route table into included routers (FastAPI keeps them as nested entries)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from all_routes(route.original_router.routes)
        else:
            yield route


def page_routes(app) -> list[tuple[str, str]]:
    """Every unsafe route outside the JSON API, with its path parameters filled in."""
    found = [
        (method, re.sub(r"\{[^}]+\}", "x", route.path))
        for route in all_routes(app.routes)
        if isinstance(route, APIRoute) and not route.path.startswith("/api/")
        for method in sorted(route.methods & UNSAFE)
    ]
    assert len(found) >= 8, found  # sign-in, sign-out, import, screening and user actions
    return found


def test_every_unsafe_page_route_refuses_a_request_without_the_token(admin):
    for method, path in page_routes(admin.app):
        response = admin.request(method, path, data={"resolution": "x", "password": "y"})

        assert response.status_code == 403, (method, path)
        assert "页面已过期" in response.text, (method, path)


def test_every_unsafe_page_route_refuses_a_wrong_token(admin):
    for method, path in page_routes(admin.app):
        response = admin.request(method, path, data={"csrf_token": "forged"})

        assert response.status_code == 403, (method, path)


def test_a_token_from_another_session_is_refused(client, world, small_pages, db):
    with TestClient(create_app(small_pages, engine=db)) as attacker:
        stolen = form_token(attacker, "/login")

    response = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": stolen}
    )

    assert response.status_code == 403


def test_sign_in_without_a_token_is_refused_so_nobody_can_be_signed_in_from_elsewhere(
    client, world
):
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})

    assert response.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_out_needs_the_token_too(admin):
    assert admin.post("/logout", follow_redirects=False).status_code == 403
    assert admin.get("/", follow_redirects=False).status_code == 200

    assert post_form(admin, "/logout", follow_redirects=False).status_code == 303


def test_signing_in_gives_the_session_a_new_token(client, world):
    before = form_token(client, "/login")

    sign_in(client, "admin")

    assert form_token(client) != before
    assert post_form(client, "/logout", follow_redirects=False).status_code == 303


def test_every_post_form_in_every_template_carries_the_token():
    forms = []
    for directory in template_dirs():
        for path in Path(directory).rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            for match in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, re.S):
                tag = match.group(0)
                if re.search(r'method="post"', tag, re.I):
                    forms.append((path.name, "csrf_field()" in match.group(1)))
    assert len(forms) >= 6
    assert [name for name, has_token in forms if not has_token] == []


def test_get_forms_do_not_carry_the_token_so_it_never_lands_in_a_url(admin, world):
    page = admin.get("/residents").text

    search = re.search(r'<form[^>]*method="get".*?</form>', page, re.S)
    assert search is not None
    assert "csrf_token" not in search.group(0)


@pytest.fixture
def api_app(small_pages, db, world):
    """The app with one cookie-authenticated unsafe JSON route, as future API writes will be."""
    app = create_app(small_pages, engine=db)

    @app.post("/api/v1/_test/note")
    def note(session: Session = RequestSession, user: User = Depends(api_user)) -> dict[str, str]:
        return {"by": user.username}

    with TestClient(app) as c:
        yield c


def test_a_cookie_authenticated_api_write_needs_the_token_header(api_app):
    sign_in(api_app, "admin")
    token = form_token(api_app)

    assert api_app.post("/api/v1/_test/note").status_code == 403
    assert api_app.post("/api/v1/_test/note", headers={"X-CSRF-Token": "forged"}).status_code == 403
    ok = api_app.post("/api/v1/_test/note", headers={"X-CSRF-Token": token})
    assert ok.status_code == 200, ok.text


def test_the_page_tells_scripts_the_token_in_a_meta_tag(admin):
    page = admin.get("/").text

    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert meta is not None and meta.group(1) == form_token(admin)
