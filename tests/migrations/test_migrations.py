"""Migrations: one head, upgrade from empty, and tables equal to the models, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

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


KEYS = {"uq_residents_resident_code", "uq_residents_id_type_id_number_hash"}


def _unique_index_names(engine) -> set[str]:
    return {str(i["name"]) for i in inspect(engine).get_indexes("residents") if i["unique"]}


def _constraint_names(engine) -> set[str]:
    return {str(c["name"]) for c in inspect(engine).get_unique_constraints("residents")}


def test_upgrading_a_district_to_unique_key_indexes_keeps_every_resident_and_reference(
    empty_engine, monkeypatch
):
    from tongxin.demo import service

    migrate.upgrade(empty_engine, "0013")
    # A build as before 0014, with the keys as the table's own constraints all along.
    monkeypatch.setattr(
        service, "_LOAD_DEFERRED_INDEXES", ("ix_residents_name", "ix_residents_phone_tail")
    )
    service.build_district(empty_engine, residents=300, seed=1)
    assert _constraint_names(empty_engine) == KEYS

    migrate.upgrade(empty_engine)

    assert _unique_index_names(empty_engine) == KEYS
    assert not _constraint_names(empty_engine)
    with empty_engine.connect() as c:
        assert c.scalar(text("SELECT count(*) FROM residents")) == 300
        assert c.scalar(text("SELECT count(*) FROM residences")) == 300
        if empty_engine.dialect.name == "sqlite":
            assert c.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            # The upgrade turned foreign keys off for its table copies and on again.
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
