"""Migrations: one head, upgrade from empty, and tables equal to the models, on both engines."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from tests.conftest import engine_under_test
from tongxin import migrate
from tongxin.db import make_engine
from tongxin.models import metadata
from tongxin.settings import Settings


@pytest.fixture
def empty_engine(settings: Settings, tmp_path) -> Iterator[Engine]:
    """A database with nothing in it, separate from the shared test database."""
    if engine_under_test() == "postgresql":
        schema = f"tx_mig_{uuid.uuid4().hex[:10]}"
        base = settings.database_url.split("?", 1)[0]
        admin = make_engine(Settings(database_url=base))
        with admin.begin() as c:
            c.execute(text(f"CREATE SCHEMA {schema}"))
        eng = make_engine(Settings(database_url=f"{base}?options=-csearch_path%3D{schema}"))
        yield eng
        eng.dispose()
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    else:
        eng = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
        yield eng
        eng.dispose()


def test_migration_scripts_have_a_single_head():
    assert len(migrate.heads()) == 1


def test_upgrade_from_empty_reaches_head_and_creates_every_table(empty_engine):
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.heads()[0]
    tables = set(inspect(empty_engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_upgrade_twice_changes_nothing(empty_engine):
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.heads()[0]


def test_migrated_schema_equals_the_models(empty_engine):
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        ctx = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == []
