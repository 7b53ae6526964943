"""UI language: gettext catalogs read at runtime with Babel, the chosen locale, extraction.

The msgids are the Simplified Chinese UI text (see docs/decisions/0002-ui-language.md), so
the zh_CN catalog may stay empty and the en catalog must translate every msgid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.types import ASGIApp, Receive, Scope, Send

LOCALES = ("zh_CN", "en")
PACKAGE_DIR = Path(__file__).resolve().parents[1]
LOCALE_DIR = PACKAGE_DIR / "locale"
DOMAIN = "messages"
# Strings shown in the UI that code builds at runtime are marked with N_ for extraction.
PYTHON_KEYWORDS: Mapping[str, Any] = {"N_": None}
TEMPLATE_KEYWORDS: Mapping[str, Any] = {"_": None, "gettext": None, "ngettext": (1, 2)}


def catalog_path(locale: str) -> Path:
    """Return where the .po catalog of a locale lives."""
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=8)
def translations(locale: str) -> Translations:
    """Load a locale's catalog from its .po file, once per process (no compile step)."""
    path = catalog_path(locale)
    if locale not in LOCALES or not path.exists():
        return Translations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def pick_locale(chosen: object, default: str) -> str:
    """Return the session's chosen locale when it is one we ship, else the default."""
    if isinstance(chosen, str) and chosen in LOCALES:
        return chosen
    return default if default in LOCALES else LOCALES[0]


def html_lang(locale: str) -> str:
    """Return the BCP 47 tag for an HTML lang attribute."""
    return locale.replace("_", "-")


@pass_context
def _gettext(context: Context, message: str) -> str:
    found = context.get("translations")
    return found.gettext(message) if found is not None else message


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    found = context.get("translations")
    if found is None:
        return singular if n == 1 else plural
    return str(found.ngettext(singular, plural, n))


def install(env: Environment) -> None:
    """Give one shared environment gettext that follows each render's `translations`.

    Installing a Translations object would make it global to the environment, and requests
    in different languages share that environment, so the callables read it from the
    render context instead.
    """
    env.add_extension("jinja2.ext.i18n")
    # The i18n extension adds this method at run time; the Environment type does not declare it.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True
    )


class LanguageFromQuery:
    """Store `?lang=xx` in the session, so any link can switch the UI language."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and b"lang=" in scope.get("query_string", b""):
            asked = parse_qs(scope["query_string"].decode("latin-1")).get("lang", [])
            if asked and asked[-1] in LOCALES and "session" in scope:
                scope["session"]["lang"] = asked[-1]
        await self.app(scope, receive, send)


def extract_messages(template_dirs: Iterable[Path], python_dirs: Iterable[Path]) -> set[str]:
    """Return every msgid used in the templates and marked with N_ in Python code."""
    found: set[str] = set()
    for directory in template_dirs:
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(directory),
            method_map=[("**.html", "jinja2.ext:babel_extract")],
            options_map={"**.html": {"newstyle_gettext": "true", "silent": "false"}},
            keywords=dict(TEMPLATE_KEYWORDS),
        ):
            found.update(_msgids(message))
    for directory in python_dirs:
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(directory), method_map=[("**.py", "python")], keywords=dict(PYTHON_KEYWORDS)
        ):
            found.update(_msgids(message))
    return found


def _msgids(message: str | tuple[str | None, ...]) -> list[str]:
    if isinstance(message, str):
        return [message]
    return [m for m in message if m]
