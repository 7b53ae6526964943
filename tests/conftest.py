"""Shared fixtures: one database per test run on the engine chosen by TONGXIN_TEST_ENGINE.

`make test` runs the suite twice: on SQLite, and on PostgreSQL when
TONGXIN_TEST_DATABASE_URL is set. Each PostgreSQL run gets its own schema.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tongxin import migrate
from tongxin.db import make_engine, make_sessionmaker, session_scope
from tongxin.models import metadata
from tongxin.settings import Settings, get_settings


def engine_under_test() -> str:
    """Return the engine this run tests: sqlite (default) or postgresql."""
    return os.environ.get("TONGXIN_TEST_ENGINE", "sqlite")


def _postgres_url_with_schema(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database for this test run."""
    if engine_under_test() == "postgresql":
        base = os.environ.get("TONGXIN_TEST_DATABASE_URL")
        if not base:
            pytest.exit("TONGXIN_TEST_ENGINE=postgresql needs TONGXIN_TEST_DATABASE_URL", 2)
        schema = f"tx_{uuid.uuid4().hex[:12]}"
        admin = make_engine(Settings(database_url=base))
        with admin.begin() as c:
            c.execute(text(f"CREATE SCHEMA {schema}"))
        url = _postgres_url_with_schema(base, schema)
        yield url
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    else:
        # In RAM (tmpfs) where the machine has one: the database is small and rewritten all
        # the time, and it stays clear of a shared disk's free space (SQLite maps its WAL
        # index, and a mapped write the disk cannot back is a SIGBUS, not an error).
        shm = Path("/dev/shm")
        if shm.is_dir() and os.access(shm, os.W_OK):
            folder = Path(tempfile.mkdtemp(prefix="tongxin-test-", dir=shm))
            yield f"sqlite:///{folder / 'tongxin-test.db'}"
            shutil.rmtree(folder, ignore_errors=True)
        else:
            path: Path = tmp_path_factory.mktemp("db") / "tongxin-test.db"
            yield f"sqlite:///{path}"


# Fixed personal-data keys for tests (never used anywhere else): 32 bytes of 0x01 / 0x02.
TEST_PII_KEYS = "test1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
TEST_PII_LOOKUP_KEY = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="


@pytest.fixture(scope="session", autouse=True)
def pii_keys_in_environment() -> Iterator[None]:
    """Give every Settings() a test run builds (CLI tests, servers) the test keys."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TONGXIN_PII_KEYS", TEST_PII_KEYS)
        mp.setenv("TONGXIN_PII_LOOKUP_KEY", TEST_PII_LOOKUP_KEY)
        yield


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """Settings pointing at the test database."""
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        pii_keys=TEST_PII_KEYS,
        pii_lookup_key=TEST_PII_LOOKUP_KEY,
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """The test database's engine, migrated to head once per run."""
    eng = make_engine(settings)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


def _empty_all_tables(eng: Engine) -> None:
    names = [t.name for t in reversed(metadata.sorted_tables)]
    with eng.begin() as c:
        if eng.dialect.name == "postgresql":
            c.execute(text("TRUNCATE " + ", ".join(names) + " RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                c.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The migrated engine, emptied after the test."""
    yield engine
    _empty_all_tables(engine)


@pytest.fixture
def commands_use_test_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point `tongxin` commands run in-process at the test database, settings read afresh."""
    monkeypatch.setenv("TONGXIN_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def session(db: Engine) -> Iterator[Session]:
    """One committed transaction around the test body, like a request or a command."""
    with session_scope(make_sessionmaker(db)) as s:
        yield s
