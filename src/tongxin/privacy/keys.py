"""Where the key ring comes from: settings (environment or key file), never the database.

An engine made by `tongxin.db.make_engine` carries its settings on its dialect; the ring is
read from them on first use and kept there, so nothing is read at import and each engine
(a test's, a benchmark's scratch database) has the keys its settings name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import Session

from tongxin.db import settings_of
from tongxin.privacy.crypto import (
    KeyRing,
    KeyRingError,
    decode_key,
    key_line,
    new_key,
    new_key_id,
    parse_key_lines,
)
from tongxin.settings import Settings

_RING_ATTR = "tongxin_key_ring"
NO_KEYS = (
    "no personal-data key configured: set TONGXIN_PII_KEYS and TONGXIN_PII_LOOKUP_KEY, "
    "or write a key file with `tongxin keys generate --file var/pii.keys`"
)


def load_key_ring(settings: Settings) -> KeyRing:
    """Build the key ring the settings name, or fail saying how to configure one."""
    keys: list[tuple[str, bytes]] = []
    lookup: bytes | None = None
    path = Path(settings.pii_key_file) if settings.pii_key_file else None
    if path is not None and path.is_file():
        keys, lookup = parse_key_lines(path.read_text(encoding="utf-8").splitlines())
    if settings.pii_keys.strip():
        keys, _ = parse_key_lines(settings.pii_keys.split(","))
    if settings.pii_lookup_key.strip():
        lookup = decode_key(settings.pii_lookup_key, "TONGXIN_PII_LOOKUP_KEY")
    if not keys or lookup is None:
        raise KeyRingError("pii_keys_missing", NO_KEYS)
    return KeyRing(keys[0][0], dict(keys), lookup)


def _dialect_of(bind: Session | Connection | Engine | Dialect) -> Dialect:
    if isinstance(bind, Session):
        return bind.get_bind().dialect
    if isinstance(bind, Connection | Engine):
        return bind.dialect
    return bind


def ring_of(bind: Session | Connection | Engine | Dialect) -> KeyRing:
    """Return the key ring of the engine behind a session, connection, engine or dialect."""
    dialect = _dialect_of(bind)
    ring: Any = getattr(dialect, _RING_ATTR, None)
    if isinstance(ring, KeyRing):
        return ring
    settings = settings_of(dialect)
    if settings is None:
        raise KeyRingError("pii_keys_missing", NO_KEYS)
    ring = load_key_ring(settings)
    setattr(dialect, _RING_ATTR, ring)
    return ring


def use_ring(engine: Engine, ring: KeyRing) -> None:
    """Make an engine use this ring from now on (rotation tests drop an old key this way)."""
    setattr(engine.dialect, _RING_ATTR, ring)


def write_key_file(path: Path, *, standby: bool = False) -> str:
    """Add a new key to a key file (created with a lookup key when absent); return its id.

    The new key becomes current (first line) unless `standby`: then it is appended, so
    servers can learn it before any of them writes with it (see docs/security.md).
    """
    kid = new_key_id()
    line = key_line(kid, new_key())
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        keys, _ = parse_key_lines(lines)
        if not keys:
            raise KeyRingError("pii_key_invalid", f"{path} holds no encryption key")
        lines = [*lines, line] if standby else [line, *lines]
    else:
        lines = [line, key_line("lookup", new_key())]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # Owner-only from the first byte: the file holds every key.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return kid


def scratch_settings(database_url: str) -> Settings:
    """Return settings for a throw-away database with its own fresh keys (benchmarks)."""
    return Settings(
        database_url=database_url,
        pii_keys=key_line(new_key_id(), new_key()),
        pii_lookup_key=key_line("x", new_key()).split(":", 1)[1],
    )
