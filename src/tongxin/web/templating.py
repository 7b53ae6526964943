"""One Jinja2 environment for every area's pages, and the render call pages use."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from tongxin import __version__
from tongxin.accounts.rules import Permission, may
from tongxin.privacy.rules import mask_id_number, mask_phone
from tongxin.settings import Settings
from tongxin.web import i18n
from tongxin.web.csrf import csrf_field, csrf_meta

WEB_DIR = Path(__file__).resolve().parent


def template_dirs() -> list[Path]:
    """Return web/templates first, then each area's templates/ folder (areas found on disk)."""
    dirs = [WEB_DIR / "templates"]
    dirs += sorted(
        p / "templates"
        for p in i18n.PACKAGE_DIR.iterdir()
        if p.is_dir() and p.name != "web" and (p / "templates").is_dir()
    )
    return dirs


def make_templates(settings: Settings) -> Jinja2Templates:
    """Build the environment: area loaders, autoescape, strict undefined, gettext."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in template_dirs()]),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    i18n.install(env)
    # Lists and summaries show personal details masked (tongxin.privacy.rules).
    env.filters["mask_phone"] = mask_phone
    env.filters["mask_id"] = mask_id_number
    env.globals["version"] = __version__
    # Menus show only what the user's role may open: {% if may(user, "registry.read") %}.
    env.globals["may"] = _user_may
    env.globals["locales"] = i18n.LOCALES
    env.globals["csrf_field"] = csrf_field
    env.globals["csrf_meta"] = csrf_meta
    return Jinja2Templates(env=env)


def _user_may(user: Any, permission: str) -> bool:
    return user is not None and may(user.role, Permission(permission))


def request_locale(request: Request) -> str:
    """Return the UI locale of this request: the session's choice or the default."""
    settings: Settings = request.app.state.settings
    chosen = request.session.get("lang") if "session" in request.scope else None
    return i18n.pick_locale(chosen, settings.default_locale)


def gettext_for(request: Request) -> Any:
    """Return the gettext function of this request's language, for messages built in code."""
    return i18n.translations(request_locale(request)).gettext


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with the request's user, language and settings in its context."""
    locale = request_locale(request)
    full: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "locale": locale,
        "html_lang": i18n.html_lang(locale),
        "translations": i18n.translations(locale),
        "settings": request.app.state.settings,
        "today": date.today(),
    }
    full.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, full, status_code=status_code)
