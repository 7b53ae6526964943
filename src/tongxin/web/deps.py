"""FastAPI dependencies: the request's transaction, the signed-in user and what they may see."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Role, session_current
from tongxin.accounts.schemas import UserOut
from tongxin.accounts.service import user_by_id
from tongxin.db import session_scope
from tongxin.registry.models import Area
from tongxin.registry.queries import Scope

SESSION_USER_KEY = "user_id"
SESSION_SIGNED_IN_KEY = "signed_in_at"  # epoch seconds of the sign-in that made the session
# Roles whose work spans the whole system when they have no jurisdiction node. Everyone else
# without a jurisdiction sees no registry data until an administrator assigns one.
SYSTEM_WIDE_ROLES = frozenset({Role.ADMIN, Role.COMMANDER, Role.HEALTH_OFFICER})


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
    """Turn a user into the part of the area tree they may see.

    This is the one place where jurisdiction becomes a filter; every page and API route
    asks it, so access control grows here.
    """
    if user.jurisdiction_id is None:
        return Scope.everything() if user.role in SYSTEM_WIDE_ROLES else Scope.nothing()
    area = session.get(Area, user.jurisdiction_id)
    return Scope.under(area) if area is not None else Scope.nothing()


def page_scope(user: User = Depends(page_user), session: Session = RequestSession) -> Scope:
    """Return the scope of the signed-in user of a page."""
    return scope_of(session, user)


def api_scope(user: User = Depends(api_user), session: Session = RequestSession) -> Scope:
    """Return the scope of the signed-in user of an API call."""
    return scope_of(session, user)
