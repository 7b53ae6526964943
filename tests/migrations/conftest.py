"""Fixtures of the migration tests: a database with nothing in it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import engine_under_test
from tongxin.db import make_engine
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
