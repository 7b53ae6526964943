"""Key rotation: re-seal under a new key in committed batches, with nothing lost on the way."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.conftest import TEST_PII_KEYS, TEST_PII_LOOKUP_KEY
from tests.integration.privacy.stored import raw_database_bytes, stage
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.privacy.crypto import KeyRing, UndecryptableValue, key_line, new_key
from tongxin.privacy.keys import ring_of, use_ring
from tongxin.privacy.service import SOURCES, key_counts, open_payload, rotate_batch
from tongxin.registry.models import Resident
from tongxin.screening.models import Event, Swab
from tongxin.settings import get_settings

OLD = "test1"
NEW_KEY = new_key()


def _everything(engine: Engine) -> dict[str, object]:
    """Read every sealed value back through the normal readers."""
    ring = ring_of(engine)
    with session_scope(make_sessionmaker(engine)) as s:
        return {
            "residents": sorted(s.scalars(select(Resident.id_number))),
            "swabs": sorted(n or "" for n in s.scalars(select(Swab.id_number))),
            "payloads": [
                open_payload(ring, p)
                for p in s.scalars(select(Event.payload).order_by(Event.number))
            ],
        }


def _rotate(engine: Engine, *, batches: int | None = None, limit: int = 2) -> None:
    """Rotate every source, one committed transaction per batch; stop after `batches`."""
    done = 0
    for source in SOURCES:
        after = 0
        while batches is None or done < batches:
            with session_scope(make_sessionmaker(engine)) as s:
                step = rotate_batch(s, source=source, after=after, limit=limit)
            if not step.scanned:
                break
            after, done = step.last, done + 1


def _counts(engine: Engine) -> dict[str, dict[str, int]]:
    with session_scope(make_sessionmaker(engine)) as s:
        return key_counts(s)


@pytest.fixture
def rotating(db: Engine) -> Iterator[tuple[Engine, KeyRing]]:
    """The test engine with a ring whose current key is new and whose old key is still held."""
    old = ring_of(db)
    both = KeyRing("k2", {"k2": NEW_KEY, OLD: old.keys[OLD]}, old.lookup_key)
    yield db, both
    use_ring(db, old)


def test_rotation_reads_every_record_back_then_the_old_key_can_go(rotating):
    db, both = rotating
    with session_scope(make_sessionmaker(db)) as s:
        stage(s)
    before = _everything(db)
    assert {n: set(c) for n, c in _counts(db).items()} == {s.name: {OLD} for s in SOURCES}

    use_ring(db, both)
    _rotate(db)

    assert _everything(db) == before
    assert _counts(db) == {
        "residents.id_number": {"k2": 6},
        "swabs.id_number": {"k2": 1},
        "events.payload": {"k2": 2},
    }
    use_ring(db, both.without(OLD))
    assert _everything(db) == before


def test_an_interrupted_rotation_leaves_everything_readable_and_resumes(rotating):
    db, both = rotating
    with session_scope(make_sessionmaker(db)) as s:
        stage(s)
    before = _everything(db)
    use_ring(db, both)

    _rotate(db, batches=1)  # one batch of two residents, then the process "dies"

    assert _counts(db)["residents.id_number"] == {"k2": 2, OLD: 4}
    assert _everything(db) == before
    # Nothing written so far needs the old key, yet unrotated values still do.
    use_ring(db, both.without(OLD))
    with pytest.raises(UndecryptableValue):
        _everything(db)
    use_ring(db, both)

    _rotate(db)  # run again: already rotated rows are skipped

    assert {n: set(c) for n, c in _counts(db).items()} == {s.name: {"k2"} for s in SOURCES}
    use_ring(db, both.without(OLD))
    assert _everything(db) == before


def test_a_lookup_still_finds_residents_after_rotation(rotating):
    db, both = rotating
    with session_scope(make_sessionmaker(db)) as s:
        staged = stage(s)
    use_ring(db, both)
    _rotate(db)
    with session_scope(make_sessionmaker(db)) as s:
        found = s.scalar(
            select(Resident.name).where(
                Resident.id_number_hash == both.lookup_hash(staged.numbers[1])
            )
        )
    assert found == "导入1"


def _cli(*args: object) -> dict:
    result = CliRunner().invoke(build(), [str(a) for a in args])
    assert result.exit_code == 0, result.output + str(result.exception or "")
    return json.loads(result.stdout)


def test_the_keys_commands_rotate_and_count(db, database_url, monkeypatch):
    with session_scope(make_sessionmaker(db)) as s:
        staged = stage(s)
    monkeypatch.setenv("TONGXIN_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        status = _cli("keys", "status", "--json")
        assert status["current"] == OLD
        assert status["sources"]["residents.id_number"] == {OLD: 6}

        line = CliRunner().invoke(build(), ["keys", "generate"]).stdout.strip()
        kid = line.split(":", 1)[0]
        monkeypatch.setenv("TONGXIN_PII_KEYS", f"{line},{TEST_PII_KEYS}")
        get_settings.cache_clear()
        rotated = _cli("keys", "rotate", "--batch", 4, "--json")
        assert rotated["current"] == kid
        assert rotated["sources"]["residents.id_number"] == {"scanned": 6, "resealed": 6}

        monkeypatch.setenv("TONGXIN_PII_KEYS", line)  # the old key is gone
        get_settings.cache_clear()
        after = _cli("keys", "status", "--json")
        assert after["sources"] == {
            "residents.id_number": {kid: 6},
            "swabs.id_number": {kid: 1},
            "events.payload": {kid: 2},
        }
    finally:
        get_settings.cache_clear()
    raw = raw_database_bytes(db, database_url)
    assert staged.numbers[0].encode() not in raw


def test_commands_without_keys_fail_with_a_clear_error(db, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("TONGXIN_DATABASE_URL", database_url)
    monkeypatch.setenv("TONGXIN_PII_KEYS", "")
    monkeypatch.setenv("TONGXIN_PII_LOOKUP_KEY", "")
    monkeypatch.setenv("TONGXIN_PII_KEY_FILE", str(tmp_path / "absent.keys"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(build(), ["keys", "status"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "error [pii_keys_missing]" in result.stderr
    assert TEST_PII_LOOKUP_KEY not in result.stderr


def test_keys_generate_writes_a_key_file(tmp_path):
    path = tmp_path / "pii.keys"
    out = _cli("keys", "generate", "--file", path, "--json")
    assert out["current"] is True
    lines = path.read_text().splitlines()
    assert lines[0].startswith(out["kid"] + ":") and lines[1].startswith("lookup:")
    assert key_line("x", NEW_KEY).split(":")[1] not in path.read_text()
