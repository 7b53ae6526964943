"""FastAPI dependencies: the request's transaction, the signed-in user and what they may see.

Every route declares how it is reached, in its decorator, with exactly one of:

- `requires(Permission.X)` (pages) or `api_requires(Permission.X)` (JSON API): a signed-in
  user whose role holds X (accounts.rules.ROLE_PERMISSIONS). Signed out, a page redirects
  to sign-in and the API answers 401; signed in without X, both answer 403. What the user
  then sees inside the route is narrowed by `scope_of` (their jurisdiction).
- `PUBLIC`: anyone, signed in or not (sign-in, language switch, health check).
- `DEVICE_TOKEN`: a field device; the handler checks the bearer token itself.

    @router.get("/audit", dependencies=[requires(Permission.AUDIT_READ)])

tests/web/test_route_declarations.py fails for any route without one, and
tests/web/test_access_matrix.py derives who is let in from ROLE_PERMISSIONS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.orm import Session

from tongxin.accounts import access
from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission, may, session_current
from tongxin.accounts.schemas import UserOut
from tongxin.accounts.service import user_by_id
from tongxin.db import session_scope
from tongxin.privacy.service import Viewer
from tongxin.registry.queries import Scope

SESSION_USER_KEY = "user_id"
SESSION_SIGNED_IN_KEY = "signed_in_at"  # epoch seconds of the sign-in that made the session


def get_session(request: Request) -> Iterator[Session]:
    """Open the one transaction of this request."""
    with session_scope(request.app.state.sessionmaker) as session:
        yield session


# Routes take the session through this: FastAPI's default ("request" scope) would run the
# commit after the response is sent, so a failed commit could still answer 200. The
# "function" scope commits when the route returns, before anything reaches the client.
RequestSession = Depends(get_session, scope="function")


class SignInRequired(Exception):
    """A page needs a signed-in user; the app answers with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def session_user(request: Request, session: Session) -> User | None:
    """Return the active user whose id the session cookie carries, or None.

    Checked on every request, so disabling a user or resetting their password ends their
    open sessions at their next click.
    """
    user_id = request.session.get(SESSION_USER_KEY)
    if not isinstance(user_id, int):
        return None
    user = user_by_id(session, user_id)
    if user is None or not session_current(
        request.session.get(SESSION_SIGNED_IN_KEY), user.sessions_valid_from
    ):
        request.session.pop(SESSION_USER_KEY, None)
        return None
    return user


def page_user(request: Request, session: Session = RequestSession) -> User:
    """Return the signed-in user of a page, or send the browser to sign in first."""
    user = session_user(request, session)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    _remember(request, user)
    return user


def api_user(request: Request, session: Session = RequestSession) -> User:
    """Return the signed-in user of an API call (session cookie), or answer 401."""
    user = session_user(request, session)
    if user is None:
        raise HTTPException(status_code=401, detail="not signed in")
    _remember(request, user)
    return user


def _remember(request: Request, user: User) -> None:
    # A detached copy: error pages render after the request's transaction has ended.
    request.state.user = UserOut.model_validate(user)


def scope_of(session: Session, user: User) -> Scope:
    """Turn a user into the part of the area tree they may see (see accounts.access)."""
    return access.scope_of(session, user)


@dataclass(frozen=True)
class Access:
    """How a route is reached: with a permission, by anyone, or by a field device."""

    kind: Literal["permission", "public", "device"]
    permission: Permission | None = None
    api: bool = False


ACCESS_ATTRIBUTE = "tongxin_access"


def _declare(function: Callable[..., Any], access: Access) -> DependsParam:
    setattr(function, ACCESS_ATTRIBUTE, access)
    return Depends(function)


def requires(permission: Permission) -> DependsParam:
    """Declare that a page needs a signed-in user holding `permission`; return the user."""

    def signed_in_with_permission(user: User = Depends(page_user)) -> User:
        if not may(user.role, permission):
            raise HTTPException(status_code=403)
        return user

    return _declare(signed_in_with_permission, Access("permission", permission))


def api_requires(permission: Permission) -> DependsParam:
    """Declare that an API route needs a signed-in user holding `permission` (401/403 JSON)."""

    def signed_in_with_permission(user: User = Depends(api_user)) -> User:
        if not may(user.role, permission):
            raise HTTPException(status_code=403, detail=f"needs permission {permission.value}")
        return user

    return _declare(signed_in_with_permission, Access("permission", permission, api=True))


async def _public() -> None:
    """Let anyone in: the route shows nothing that belongs to a jurisdiction."""


async def _device_token() -> None:
    """Mark a route a field device calls; its handler checks the bearer device token."""


PUBLIC = _declare(_public, Access("public"))
DEVICE_TOKEN = _declare(_device_token, Access("device"))


def declared_access(dependant: Dependant) -> list[Access]:
    """Return the access declarations found anywhere in a route's dependency tree."""
    found: list[Access] = []
    access = getattr(dependant.call, ACCESS_ATTRIBUTE, None)
    if isinstance(access, Access):
        found.append(access)
    for sub in dependant.dependencies:
        found += declared_access(sub)
    return found


@dataclass(frozen=True)
class RouteAccess:
    """One route of an app and the access it declares (None: not a FastAPI route)."""

    path: str
    methods: frozenset[str]
    declared: tuple[Access, ...] | None


def route_table(app: FastAPI) -> list[RouteAccess]:
    """List every route of an app, included routers flattened, with its declared access."""
    table = []
    for context in iter_route_contexts(app.routes):
        path = str(context.path)
        methods = frozenset(context.methods or ())
        if isinstance(context.original_route, APIRoute):
            table.append(RouteAccess(path, methods, tuple(declared_access(context.dependant))))
        else:
            table.append(RouteAccess(path, methods, None))
    return table


def page_scope(user: User = Depends(page_user), session: Session = RequestSession) -> Scope:
    """Return the scope of the signed-in user of a page."""
    return scope_of(session, user)


def api_scope(user: User = Depends(api_user), session: Session = RequestSession) -> Scope:
    """Return the scope of the signed-in user of an API call."""
    return scope_of(session, user)


def request_viewer(request: Request) -> Viewer:
    """Return who is looking, for the record of full personal values shown to them."""
    user: UserOut = request.state.user
    return Viewer(
        username=user.username,
        role=user.role,
        where=request.client.host if request.client else None,
        audit_key=request.app.state.settings.audit_key or None,
    )
