"""Build the FastAPI application: create_app(settings). Nothing is built at import."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tongxin import __version__
from tongxin.db import make_engine, make_sessionmaker
from tongxin.settings import Settings, get_settings


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """Create the web app and API for these settings (and optionally an existing engine)."""
    engine = engine or make_engine(settings)
    app = FastAPI(
        title="Tongxin (同心) API",
        version=__version__,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Report that the server is up and the database answers."""
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    return app


def app_from_environment() -> FastAPI:
    """Uvicorn factory: build the app from TONGXIN_* environment settings."""
    return create_app(get_settings())
