"""Typer root: `tongxin …`. Each area mounts its own commands here."""

from __future__ import annotations

import typer

from tongxin.db import make_engine
from tongxin.settings import get_settings

app = typer.Typer(help="Tongxin (同心) community epidemic-response platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to the target revision."""
    from tongxin import migrate

    engine = make_engine(get_settings())
    try:
        migrate.upgrade(engine, revision)
        typer.echo(f"database at {migrate.current_revision(engine)}")
    finally:
        engine.dispose()


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Bind address (default from settings)."),
    port: int | None = typer.Option(None, help="Port (default from settings)."),
    workers: int | None = typer.Option(None, help="Worker processes (default from settings)."),
) -> None:
    """Serve the web app and API with Uvicorn."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "tongxin.web.app:app_from_environment",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level="info",
    )


_mounted = False


def build() -> typer.Typer:
    """Return the root app with every area's commands mounted (imported here, not at load)."""
    global _mounted
    if _mounted:
        return app
    from tongxin.accounts.cli import app as accounts_app
    from tongxin.audit.cli import app as audit_app
    from tongxin.bench.cli import app as bench_app
    from tongxin.demo.cli import app as demo_app
    from tongxin.hotline.cli import app as hotline_app
    from tongxin.logistics.cli import app as logistics_app
    from tongxin.planning.cli import app as plan_app
    from tongxin.privacy.cli import app as keys_app
    from tongxin.registry.cli import app as registry_app
    from tongxin.screening.cli import build_app as screening_app
    from tongxin.screening.cli_tokens import app as tokens_app
    from tongxin.supplies.cli import app as supplies_app

    app.add_typer(accounts_app, name="users")
    app.add_typer(registry_app, name="registry")
    app.add_typer(screening_app(), name="screening")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(audit_app, name="audit")
    app.add_typer(hotline_app, name="hotline")
    app.add_typer(demo_app, name="demo")
    app.add_typer(keys_app, name="keys")
    app.add_typer(supplies_app, name="supplies")
    app.add_typer(logistics_app, name="logistics")
    app.add_typer(bench_app, name="bench")
    app.add_typer(plan_app, name="plan")
    _mounted = True
    return app


def main() -> None:
    """Entry point of the `tongxin` console script."""
    build()()
