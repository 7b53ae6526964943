"""CSRF protection: a synchronizer token kept in the signed session.

Every page form carries the token as a hidden field (`{{ csrf_field() }}`); JavaScript and
other cookie-authenticated callers of the JSON API send it as the `X-CSRF-Token` header
(the page has it in `<meta name="csrf-token">`). `verify_csrf` is an app-level dependency,
so every route, including ones added later, checks it on POST, PUT, PATCH and DELETE.
"""

from __future__ import annotations

import hmac
import re
import secrets

from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from tongxin.web.deps import SESSION_USER_KEY

CSRF_SESSION_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_TOKEN_IN_PAGE = re.compile(r'name="csrf_token" value="([^"]+)"')


class CsrfRejected(Exception):
    """An unsafe request without the session's CSRF token; the app answers 403."""


def csrf_token(request: Request) -> str:
    """Return this session's CSRF token, making one the first time a form is shown."""
    if "session" not in request.scope:
        # Only a crash page rendered outside the session middleware; it has no form to post.
        return ""
    token = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return token


def token_in_page(html: str) -> str | None:
    """Return the token a rendered page's form carries, for scripted clients (bench, tests)."""
    found = _TOKEN_IN_PAGE.search(html)
    return found.group(1) if found else None


@pass_context
def csrf_field(context: Context) -> Markup:
    """Render the hidden form field that carries the token (the value is escaped)."""
    token = csrf_token(context["request"])
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(token))


@pass_context
def csrf_meta(context: Context) -> str:
    """Return the token for the page's meta tag, for scripts that call the JSON API."""
    return csrf_token(context["request"])


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request whose token does not match the session's.

    Exempt: requests with an Authorization header (device bearer tokens; a cross-site page
    cannot add that header without a CORS preflight, which this app never grants), and JSON
    API calls from a session with nobody signed in (no cookie authority to abuse; the route
    itself answers 401). Pages, the sign-in form included, always need the token.
    """
    if request.method in SAFE_METHODS or "authorization" in request.headers:
        return
    is_api = request.url.path.startswith("/api/")
    if is_api and not request.session.get(SESSION_USER_KEY):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and not is_api:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = request.session.get(CSRF_SESSION_KEY)
    if not (
        isinstance(expected, str)
        and expected
        and sent
        and hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise CsrfRejected()
