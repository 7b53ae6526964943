"""Migrations: one head, upgrade from empty, and tables equal to the models, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from tongxin import migrate
from tongxin.models import metadata


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
