"""Sign-in, sign-out, the language switch and the administrators' user pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import N_, Permission, may_change_activity
from tongxin.accounts.service import (
    AccountError,
    PasswordRejected,
    list_users,
    reset_password,
    set_user_active,
    user_by_name,
)
from tongxin.accounts.sign_in import SignInPolicies, sign_in
from tongxin.audit.context import web_actor
from tongxin.audit.service import record
from tongxin.web import i18n
from tongxin.web.deps import (
    PUBLIC,
    SESSION_SIGNED_IN_KEY,
    SESSION_USER_KEY,
    RequestSession,
    page_user,
    requires,
    session_user,
)
from tongxin.web.templating import gettext_for, render

# Sign-in, sign-out and the language switch show no one's data: all of them are public.
router = APIRouter(include_in_schema=False, dependencies=[PUBLIC])

CHINA = timezone(timedelta(hours=8))


def safe_next(target: str | None) -> str:
    """Return a local path to go to after sign-in; anything else becomes the home page."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def client_ip(request: Request) -> str:
    """Return the caller's address (Uvicorn already applied trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


def start_session(request: Request, user: User, now: datetime) -> None:
    """Replace the session with a fresh one for this user (no session fixation).

    Nothing from before survives but the language; the CSRF token is made anew on the next
    form, so a token seen before sign-in is useless after it.
    """
    lang = request.session.get("lang")
    request.session.clear()
    if lang is not None:
        request.session["lang"] = lang
    request.session[SESSION_USER_KEY] = user.id
    request.session[SESSION_SIGNED_IN_KEY] = now.timestamp()


@router.get("/login")
def login_form(
    request: Request, next: str | None = None, session: Session = RequestSession
) -> Response:
    """Show the sign-in form (or go home when already signed in)."""
    if session_user(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "accounts/login.html", {"next": safe_next(next), "failed": False})


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
    session: Session = RequestSession,
) -> Response:
    """Check the password unless sign-in is locked, and start a fresh signed session."""
    now = datetime.now(UTC)
    outcome = sign_in(
        session,
        username=username,
        password=password,
        ip=client_ip(request),
        now=now,
        policies=SignInPolicies.from_settings(request.app.state.settings),
    )
    if outcome.user is None:
        locked = outcome.locked_until
        return render(
            request,
            "accounts/login.html",
            {
                "next": safe_next(next),
                "failed": True,
                "username": username,
                "locked_until": locked.astimezone(CHINA).strftime("%H:%M") if locked else None,
            },
            status_code=429 if locked else 401,
        )
    start_session(request, outcome.user, now)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session and go back to the sign-in page."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang is not None:
        request.session["lang"] = lang
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{locale}")
def switch_language(request: Request, locale: str, next: str | None = None) -> Response:
    """Remember the chosen UI language and return to the page the user was on."""
    if locale in i18n.LOCALES:
        request.session["lang"] = locale
    return RedirectResponse(safe_next(next), status_code=303)


# The administrators' user pages: one permission, users.manage (administrators only).
admin_router = APIRouter(include_in_schema=False, dependencies=[requires(Permission.USERS_MANAGE)])


def _users_page(
    request: Request, session: Session, *, problem: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "accounts/users.html",
        {
            "users": list_users(session),
            "problem": problem,
            "done": request.query_params.get("done"),
            "crumbs": [],
        },
        status_code=status_code,
    )


@admin_router.get("/admin/users")
def users_page(request: Request, session: Session = RequestSession) -> Response:
    """List every account with its role, state and last sign-in, with actions."""
    return _users_page(request, session)


def _set_active(
    request: Request, session: Session, admin: User, username: str, *, active: bool
) -> Response:
    target = _target(session, username)
    refusal = may_change_activity(admin.id, target.id, enable=active)
    if refusal is not None:
        return _users_page(request, session, problem=gettext_for(request)(refusal), status_code=409)
    now = datetime.now(UTC)
    set_user_active(session, username=username, active=active, now=now)
    record(
        session,
        actor=web_actor(request, admin),
        action="accounts.user.enable" if active else "accounts.user.disable",
        target_type="user",
        target_id=username,
        area=target.jurisdiction_id,
        now=now,
        after={"is_active": active},
    )
    return RedirectResponse("/admin/users?done=" + ("enabled" if active else "disabled"), 303)


def _target(session: Session, username: str) -> User:
    try:
        return user_by_name(session, username)
    except AccountError:
        raise HTTPException(status_code=404) from None


@admin_router.post("/admin/users/{username}/disable")
def disable_user(
    request: Request,
    username: str,
    session: Session = RequestSession,
    admin: User = Depends(page_user),
) -> Response:
    """Disable an account; its open sessions end at their next request."""
    return _set_active(request, session, admin, username, active=False)


@admin_router.post("/admin/users/{username}/enable")
def enable_user(
    request: Request,
    username: str,
    session: Session = RequestSession,
    admin: User = Depends(page_user),
) -> Response:
    """Enable an account again."""
    return _set_active(request, session, admin, username, active=True)


def _password_form(
    request: Request, target: User, problems: list[str], status_code: int = 200
) -> Response:
    context: dict[str, Any] = {"target": target, "problems": problems, "crumbs": []}
    return render(request, "accounts/reset_password.html", context, status_code=status_code)


@admin_router.get("/admin/users/{username}/password")
def reset_password_form(
    request: Request, username: str, session: Session = RequestSession
) -> Response:
    """Show the form that gives a user a new password."""
    return _password_form(request, _target(session, username), [])


@admin_router.post("/admin/users/{username}/password")
def reset_password_submit(
    request: Request,
    username: str,
    password: str = Form(""),
    confirm: str = Form(""),
    session: Session = RequestSession,
    admin: User = Depends(page_user),
) -> Response:
    """Set the new password under the policy; the user's other sessions end."""
    target = _target(session, username)
    _ = gettext_for(request)
    if password != confirm:
        return _password_form(request, target, [_(N_("两次输入的密码不一致"))], status_code=400)
    now = datetime.now(UTC)
    try:
        reset_password(session, username=username, password=password, now=now)
    except PasswordRejected as rejected:
        return _password_form(request, target, [_(p) for p in rejected.problems], 400)
    record(
        session,
        actor=web_actor(request, admin),
        action="accounts.user.password_reset",
        target_type="user",
        target_id=username,
        area=target.jurisdiction_id,
        now=now,
    )
    if target.id == admin.id:
        # Resetting one's own password ends older sessions, not the one doing it.
        request.session[SESSION_SIGNED_IN_KEY] = now.timestamp()
    return RedirectResponse("/admin/users?done=password", status_code=303)
