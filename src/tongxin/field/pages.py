"""The field app's shell: the page at /field/, its manifest, service worker and scripts.

All of it is public: the shell holds no data. What a device may see comes from the JSON API
under its bearer token (`field.api`, `POST /api/v1/capture/events`).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from tongxin import __version__
from tongxin.web.deps import PUBLIC
from tongxin.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[PUBLIC])

STATIC_DIR = Path(__file__).resolve().parent / "static"
SHELL_TEMPLATE = Path(__file__).resolve().parent / "templates" / "field" / "app.html"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The service worker is the one file whose scope matters: served from /field/ it controls
# /field/ and nothing else. It is kept with the other scripts but served by its own route.
WORKER = "sw.js"


@lru_cache(maxsize=1)
def shell_files() -> dict[str, bytes]:
    """Return the app's static files by name (read once per process, on first use)."""
    return {
        p.name: p.read_bytes()
        for p in sorted(STATIC_DIR.iterdir())
        if p.suffix in MEDIA_TYPES and p.name != WORKER
    }


@lru_cache(maxsize=1)
def shell_version() -> str:
    """Return the version of the app shell: the package version and a hash of its files.

    The service worker's cache is named after it, so a changed script replaces the old shell
    on the next visit online instead of being served stale forever.
    """
    digest = hashlib.sha256(__version__.encode())
    for name, body in shell_files().items():
        digest.update(name.encode() + b"\0" + body)
    digest.update((STATIC_DIR / WORKER).read_bytes())
    digest.update(SHELL_TEMPLATE.read_bytes())
    return f"{__version__}-{digest.hexdigest()[:12]}"


@router.get("/field")
def field_root() -> Response:
    """Send /field to /field/, the service worker's scope."""
    return RedirectResponse("/field/", status_code=308)


@router.get("/field/")
def field_app(request: Request) -> Response:
    """Serve the app shell; the scripts draw sign-in, sampler, box and rejected views."""
    response = render(request, "field/app.html", {"shell_version": shell_version()})
    # The service worker keeps its own copy; the browser's HTTP cache must not serve an
    # older shell to the worker when it refreshes.
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/field/manifest.webmanifest")
def manifest() -> Response:
    """Describe the app for "add to home screen"."""
    body = (
        '{"name": "同心 现场采样", "short_name": "同心采样", "lang": "zh-CN",'
        ' "start_url": "/field/", "scope": "/field/", "display": "standalone",'
        ' "background_color": "#f6f7f9", "theme_color": "#b3261e",'
        ' "icons": [{"src": "/field/assets/icon.svg", "sizes": "any",'
        ' "type": "image/svg+xml", "purpose": "any"}]}'
    )
    return Response(body, media_type="application/manifest+json")


@router.get("/field/sw.js")
def service_worker() -> Response:
    """Serve the service worker with the shell's version and file list filled in."""
    files = ["/field/", "/field/manifest.webmanifest"]
    files += [f"/field/assets/{name}" for name in shell_files()]
    source = (STATIC_DIR / WORKER).read_text(encoding="utf-8")
    source = source.replace("__SHELL_VERSION__", shell_version())
    source = source.replace('["__SHELL_FILES__"]', "[" + ", ".join(f'"{f}"' for f in files) + "]")
    return Response(
        source,
        media_type=MEDIA_TYPES[".js"],
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/field/"},
    )


@router.get("/field/assets/{name}")
def asset(name: str) -> Response:
    """Serve one of the app's own scripts, styles or icons (only files that exist)."""
    body = shell_files().get(name)
    if body is None:
        raise HTTPException(status_code=404)
    return Response(
        body,
        media_type=MEDIA_TYPES[Path(name).suffix],
        headers={"Cache-Control": "no-cache"},
    )
