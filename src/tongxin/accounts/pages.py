"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tongxin.accounts.service import authenticate
from tongxin.web import i18n
from tongxin.web.deps import PUBLIC, SESSION_USER_KEY, RequestSession, session_user
from tongxin.web.templating import render

# Sign-in, sign-out and the language switch show no one's data: all of them are public.
router = APIRouter(include_in_schema=False, dependencies=[PUBLIC])


def safe_next(target: str | None) -> str:
    """Return a local path to go to after sign-in; anything else becomes the home page."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


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
    """Check the password and start a signed session, or show the form again."""
    user = authenticate(session, username=username.strip(), password=password)
    if user is None:
        return render(
            request,
            "accounts/login.html",
            {"next": safe_next(next), "failed": True, "username": username},
            status_code=401,
        )
    lang = request.session.get("lang")
    # A fresh session on sign-in: nothing from before survives except the language.
    request.session.clear()
    if lang is not None:
        request.session["lang"] = lang
    request.session[SESSION_USER_KEY] = user.id
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
