"""Build the FastAPI application: create_app(settings). Nothing is built at import."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from tongxin import __version__
from tongxin.db import WalCheckpointer, make_engine, make_sessionmaker
from tongxin.settings import Settings, get_settings
from tongxin.web.csrf import CsrfRejected, verify_csrf
from tongxin.web.deps import PUBLIC, SignInRequired
from tongxin.web.guards import refuse_nul_characters
from tongxin.web.headers import SecurityHeaders
from tongxin.web.i18n import LanguageFromQuery
from tongxin.web.openapi import error_responses
from tongxin.web.templating import WEB_DIR, make_templates, render

# Routes that are not FastAPI routes and so cannot declare access with a dependency: the
# static files and the OpenAPI schema and its viewers, none of which holds anyone's data.
PUBLIC_MOUNTS = frozenset({"/static", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})

# Signed-in sessions end after a working day, since phones and desks in a community office
# are shared.
SESSION_MAX_AGE_S = 12 * 60 * 60


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """Create the web app and API for these settings (and optionally an existing engine)."""
    engine = engine or make_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        checkpointer = WalCheckpointer(engine).start()
        # Everything built so far (modules, the app, its routes and schemas: about 120,000
        # objects) lives as long as the process. Frozen, the collector's full passes skip
        # it; unfrozen, each full pass walked it all, 80-160 ms with every request waiting.
        gc.collect()
        gc.freeze()
        yield
        # Captures already queued are committed and answered before the process ends.
        writer = getattr(app.state, "capture_writer", None)
        if writer is not None:
            writer.stop()
        checkpointer.stop()

    app = FastAPI(
        title="Tongxin (同心) API",
        version=__version__,
        docs_url="/docs",
        # ReDoc would pull fonts and a bundle from third-party hosts too; /docs is enough.
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        # FastAPI's built-in OpenTelemetry looks its providers up on every request; nothing
        # here exports traces, and on the capture path that lookup cost more than routing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # At app level so no route, present or future, can forget either check.
        dependencies=[Depends(refuse_nul_characters), Depends(verify_csrf)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.templates = make_templates(settings)

    # Added first so it runs inside the session middleware and can write the choice into it.
    app.add_middleware(LanguageFromQuery)
    # The cookie is signed, not encrypted: it holds the user id, the sign-in time, the CSRF
    # token and the language. Starlette marks it HttpOnly; SecurityHeaders adds Secure per
    # request (TONGXIN_SECURE_COOKIES), since one server may answer both HTTP and HTTPS.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="tongxin_session",
        max_age=SESSION_MAX_AGE_S,
        same_site="lax",
        https_only=settings.secure_cookies == "always",
    )
    # Outermost, so redirects, error pages and static files get the headers too.
    app.add_middleware(SecurityHeaders, secure_cookies=settings.secure_cookies)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    _add_error_handlers(app)

    @app.get("/healthz", tags=["ops"], dependencies=[PUBLIC])
    def healthz() -> dict[str, str]:
        """Report that the server is up and the database answers."""
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    from tongxin.accounts import pages as account_pages
    from tongxin.audit import pages as audit_pages
    from tongxin.field import api as field_api
    from tongxin.field import pages as field_pages
    from tongxin.hotline import api as hotline_api
    from tongxin.hotline import pages as hotline_pages
    from tongxin.logistics import pages as logistics_pages
    from tongxin.planning import api as planning_api
    from tongxin.planning import pages as planning_pages
    from tongxin.registry import api as registry_api
    from tongxin.registry import pages as registry_pages
    from tongxin.screening import api as screening_api
    from tongxin.screening import api_field as screening_api_field
    from tongxin.screening import api_results as screening_api_results
    from tongxin.screening import pages as screening_pages
    from tongxin.supplies import pages as supplies_pages

    # Routes are matched in order: the capture endpoint, the busiest by far, goes first.
    # Its error answers are declared here for both its routes (401 token, 404 event,
    # 413/422 batch).
    app.include_router(screening_api.router, responses=error_responses(401, 404, 413, 422))
    app.include_router(account_pages.router)
    app.include_router(account_pages.admin_router)
    app.include_router(registry_pages.router)
    app.include_router(registry_api.router)
    app.include_router(screening_api_results.router)
    app.include_router(screening_api_field.router)
    app.include_router(screening_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(supplies_pages.router)
    app.include_router(logistics_pages.router)
    app.include_router(field_api.router, responses=error_responses(401))
    app.include_router(field_pages.router)
    app.include_router(hotline_api.router)
    app.include_router(hotline_pages.router)
    app.include_router(planning_pages.router)
    app.include_router(planning_api.router)
    app.add_exception_handler(registry_api.SearchRejected, registry_api.search_rejected)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz",)


def _add_error_handlers(app: FastAPI) -> None:
    async def sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse("/login?" + urlencode({"next": exc.next_url}), status_code=303)

    async def csrf_rejected(request: Request, exc: Exception) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "csrf token missing or wrong"}, status_code=403)
        return render(
            request,
            "error.html",
            {"status": 403, "problems": [], "reason": "csrf"},
            status_code=403,
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _wants_json(request):
            return await http_exception_handler(request, exc)
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "problems": []},
            status_code=exc.status_code,
        )

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _wants_json(request):
            return await request_validation_exception_handler(request, exc)
        problems = [
            {"field": str(e["loc"][-1]) if e.get("loc") else "", "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return render(request, "error.html", {"status": 400, "problems": problems}, status_code=400)

    async def server_error(request: Request, exc: Exception) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "internal server error"}, status_code=500)
        return render(request, "error.html", {"status": 500, "problems": []}, status_code=500)

    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(CsrfRejected, csrf_rejected)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, server_error)


def app_from_environment() -> FastAPI:
    """Uvicorn factory: build the app from TONGXIN_* environment settings."""
    return create_app(get_settings())
