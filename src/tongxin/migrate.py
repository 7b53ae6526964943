"""Apply and inspect Alembic migrations on an engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """Build an Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to `revision` (head by default)."""
    cfg = alembic_config(engine)
    with (
        engine.connect() as connection,
        _sqlite_foreign_keys_off(connection),
        connection.begin(),
    ):
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                # Raising here rolls the whole upgrade back.
                raise RuntimeError(
                    f"the upgrade left rows whose foreign keys point nowhere: {broken[:5]}"
                )


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """On SQLite, upgrade with foreign keys off (checked above), as its ALTER TABLE guide says.

    SQLite changes a table's constraints by copying it into a new table and dropping the old
    one (Alembic's batch mode); with foreign keys on, dropping a table other rows refer to
    fails. The pragma is a no-op inside a transaction, so it is set before the upgrade's.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def heads() -> list[str]:
    """Return the head revisions of the packaged migration scripts."""
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())
