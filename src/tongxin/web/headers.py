"""Security headers on every response, and the Secure flag on cookies served over HTTPS."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages load only their own scripts and styles (no inline ones, no third-party hosts). The
# QR code is inline SVG markup; `data:` images are allowed for small icons.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's Swagger UI at /docs is one page with an inline start-up script that makes the
# visitor's browser load its bundle from a CDN (the server downloads nothing); only that page
# may do so, and it sets styles inline. /openapi.json is served by the app and works offline.
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    "img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
# The field app will scan barcodes with the camera on our own pages; nothing else is used.
PERMISSIONS_POLICY = (
    "camera=(self), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """ASGI middleware: add the headers to every HTTP response, errors and static files too.

    `secure_cookies` is "auto" (Secure and HSTS when the request came over HTTPS; Uvicorn
    sets the scheme from X-Forwarded-Proto for trusted proxies), "always" or "never".
    """

    def __init__(self, app: ASGIApp, *, secure_cookies: str = "auto") -> None:
        self.app = app
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = self.secure_cookies == "always" or (
            self.secure_cookies == "auto" and scope.get("scheme") == "https"
        )
        csp = DOCS_CSP if scope.get("path") in DOCS_PATHS else PAGE_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = csp
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                headers["Permissions-Policy"] = PERMISSIONS_POLICY
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                if secure:
                    headers["Strict-Transport-Security"] = HSTS
                    _mark_cookies_secure(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _mark_cookies_secure(headers: MutableHeaders) -> None:
    cookies = headers.getlist("set-cookie")
    if not cookies:
        return
    del headers["set-cookie"]
    for cookie in cookies:
        if "; secure" not in cookie.lower():
            cookie += "; secure"
        headers.append("set-cookie", cookie)
