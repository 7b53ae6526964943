"""Security headers on every response, and the session cookie's flags."""

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, post_form
from tongxin.web.app import create_app
from tongxin.web.templating import template_dirs

PATHS = ["/login", "/", "/static/tongxin.css", "/api/v1/areas", "/no-such-page", "/healthz"]


@pytest.mark.parametrize("path", PATHS)
def test_every_kind_of_response_carries_the_security_headers(client, world, path):
    response = client.get(path, follow_redirects=False)

    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "camera=(self)" in response.headers["permissions-policy"]
    assert "strict-transport-security" not in response.headers


def test_the_templates_have_no_inline_script_style_or_event_handler():
    found = []
    for directory in template_dirs():
        for path in directory.rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            inline = re.findall(
                r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", text
            )
            found += [(path.name, hit) for hit in inline]
    assert found == []


def test_the_api_reference_page_alone_may_load_swagger_ui_from_its_cdn(client):
    response = client.get("/docs")

    assert response.status_code == 200
    assert "https://cdn.jsdelivr.net" in response.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" not in client.get("/login").headers["content-security-policy"]
    assert client.get("/openapi.json").status_code == 200


def test_the_session_cookie_is_http_only_and_same_site_lax_but_not_secure_over_http(client, world):
    response = post_form(
        client,
        "/login",
        {"username": "admin", "password": PASSWORD},
        page="/login",
        follow_redirects=False,
    )

    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("tongxin_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie


def test_over_https_the_cookie_is_secure_and_hsts_is_sent(small_pages, db, world):
    with TestClient(create_app(small_pages, engine=db), base_url="https://testserver") as c:
        response = c.get("/login")

    assert "; secure" in response.headers["set-cookie"].lower()
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_secure_cookies_always_marks_them_secure_even_over_http(small_pages, db, world):
    settings = small_pages.model_copy(update={"secure_cookies": "always"})
    with TestClient(create_app(settings, engine=db)) as c:
        response = c.get("/login")

    assert "secure" in response.headers["set-cookie"].lower()


def test_secure_cookies_never_leaves_them_plain_even_over_https(small_pages, db, world):
    settings = small_pages.model_copy(update={"secure_cookies": "never"})
    with TestClient(create_app(settings, engine=db), base_url="https://testserver") as c:
        response = c.get("/login")

    assert "secure" not in response.headers["set-cookie"].lower()
    assert "strict-transport-security" not in response.headers
