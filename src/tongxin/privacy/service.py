"""Personal-data use cases: keyed lookups, sealed event payloads, full-value displays, rotation.

Rotation re-encrypts one batch per call; the caller (`tongxin keys rotate`) commits each batch
in its own transaction, so readers and writers carry on between batches. Every stored value
names its key, and the ring holds the old keys as well as the current one, so a value read
before, during or after its batch opens, and a rotation stopped anywhere can simply run again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, bindparam, func, select, type_coerce, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tongxin.privacy.crypto import KeyRing, is_sealed, key_id_of
from tongxin.privacy.keys import ring_of
from tongxin.privacy.rules import Detail

log = logging.getLogger("tongxin.privacy.display")

PAYLOAD_ID_COLUMN = "events.payload.person.id_number"


def key_ring(bind: Session | Connection) -> KeyRing:
    """Return the key ring of the engine behind a session or connection (other areas use this)."""
    return ring_of(bind)


def id_number_hash(bind: Session | Connection, number: str) -> str:
    """Return the keyed hash that finds this ID number (as stored: upper case, no spaces)."""
    return ring_of(bind).lookup_hash(number)


@dataclass(frozen=True)
class HashedNumbers:
    """ID numbers and their keyed hashes, both ways."""

    hash_of: dict[str, str]
    number_of: dict[str, str]


def hashed_numbers(bind: Session | Connection, numbers: Iterable[str]) -> HashedNumbers:
    """Hash a set of ID numbers for lookup, keeping the way back from hash to number."""
    ring = ring_of(bind)
    hash_of = {n: ring.lookup_hash(n) for n in numbers}
    return HashedNumbers(hash_of, {h: n for n, h in hash_of.items()})


def add_id_hashes(bind: Session | Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Set each insert row's `id_number_hash` from its plaintext `id_number` (None stays None)."""
    ring = ring_of(bind)
    for row in rows:
        number = row.get("id_number")
        row["id_number_hash"] = None if number is None else ring.lookup_hash(number)


# --- the event log ------------------------------------------------------------------------


def seal_payload(ring: KeyRing, payload: Any) -> Any:
    """Return an event payload whose person.id_number is sealed (other payloads unchanged)."""
    person = payload.get("person") if isinstance(payload, Mapping) else None
    number = person.get("id_number") if isinstance(person, Mapping) else None
    if not isinstance(number, str) or is_sealed(number):
        return payload
    assert isinstance(payload, Mapping) and isinstance(person, Mapping)
    sealed = ring.encrypt(number, column=PAYLOAD_ID_COLUMN)
    return {**payload, "person": {**person, "id_number": sealed}}


def seal_event_payloads(bind: Session | Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Seal the ID number in each event row's payload before the row is stored."""
    ring = ring_of(bind)
    for row in rows:
        row["payload"] = seal_payload(ring, row["payload"])


def open_payload(ring: KeyRing, payload: Any) -> Any:
    """Return a stored event payload with person.id_number opened again, as the device sent it."""
    person = payload.get("person") if isinstance(payload, Mapping) else None
    number = person.get("id_number") if isinstance(person, Mapping) else None
    if not is_sealed(number):
        return payload
    assert isinstance(payload, Mapping) and isinstance(person, Mapping)
    plain = ring.decrypt(str(number), column=PAYLOAD_ID_COLUMN)
    return {**payload, "person": {**person, "id_number": plain}}


# --- full values on screens and in exports ---------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who looks at a full value: enough to audit it."""

    username: str
    role: str
    where: str | None = None  # IP address or device, when known


def command_viewer() -> Viewer:
    """Return the viewer of a CLI command: the operating-system account that runs it."""
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        name = "unknown"
    return Viewer(username=name, role="cli", where="command line")


def export_stamp(viewer: Viewer, at: datetime) -> str:
    """Return the "who, when" line every export file carries."""
    who = f"导出人 Exported by: {viewer.username} ({viewer.role})"
    return f"{who}  导出时间 Exported at: {at:%Y-%m-%d %H:%M:%S %Z}".strip()


def note_full_display(
    session: Session, *, viewer: Viewer, what: Detail | str, target: str, count: int = 1
) -> None:
    """Record that a full (unmasked) personal value was shown or exported.

    Every such display goes through here. For now it writes a log line; the audit log
    (tongxin.audit.record) takes over on merge, in the caller's transaction.
    """
    log.info(
        "full display: %s (%s) saw %s of %s%s%s",
        viewer.username,
        viewer.role,
        what,
        target,
        f" x{count}" if count != 1 else "",
        f" from {viewer.where}" if viewer.where else "",
    )


# --- rotation and status -----------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A place sealed values live: a table column, or the person in swab_taken payloads."""

    name: str
    table: str
    key: str
    value: str
    payload: bool = False


SOURCES = (
    Source("residents.id_number", "residents", "id", "id_number"),
    Source("swabs.id_number", "swabs", "id", "id_number"),
    Source(PAYLOAD_ID_COLUMN, "events", "number", "payload", payload=True),
)


def _table(session: Session, source: Source) -> Any:
    from tongxin.models import metadata

    return metadata.tables[source.table]


def _scan(session: Session, source: Source, *, after: int, limit: int) -> list[Any]:
    t = _table(session, source)
    key, value = t.c[source.key], t.c[source.value]
    raw = type_coerce(value, JSON if source.payload else String)
    stmt = select(key, raw).where(key > after, value.is_not(None)).order_by(key).limit(limit)
    if source.payload:
        stmt = stmt.where(t.c.type == "swab_taken")
    return list(session.execute(stmt).tuples())


def _stored_token(source: Source, raw: Any) -> str | None:
    if not source.payload:
        return str(raw)
    person = raw.get("person") if isinstance(raw, Mapping) else None
    number = person.get("id_number") if isinstance(person, Mapping) else None
    return number if is_sealed(number) else None


def count_rows(session: Session, source: Source) -> int:
    """Count the rows of a source that may hold a sealed value (the rotation's total)."""
    t = _table(session, source)
    stmt = select(func.count()).select_from(t).where(t.c[source.value].is_not(None))
    if source.payload:
        stmt = stmt.where(t.c.type == "swab_taken")
    return int(session.scalar(stmt) or 0)


@dataclass(frozen=True)
class Batch:
    """What one rotation batch did: the last key it read, rows read and rows re-sealed."""

    last: int
    scanned: int
    resealed: int


def rotate_batch(session: Session, *, source: Source, after: int, limit: int) -> Batch:
    """Re-seal under the current key every value of one batch still under an older key."""
    ring = ring_of(session)
    rows = _scan(session, source, after=after, limit=limit)
    if not rows:
        return Batch(after, 0, 0)
    changed: list[dict[str, Any]] = []
    for key, raw in rows:
        token = _stored_token(source, raw)
        if token is None or key_id_of(token) == ring.current:
            continue
        if source.payload:
            fresh: Any = seal_payload(ring, open_payload(ring, raw))
        else:
            fresh = ring.encrypt(ring.decrypt(token, column=source.name), column=source.name)
        changed.append({"b_key": key, "b_value": fresh})
    if changed:
        t = _table(session, source)
        session.execute(
            update(t)
            .where(t.c[source.key] == bindparam("b_key"))
            .values({source.value: bindparam("b_value", type_=JSON if source.payload else String)}),
            changed,
        )
    return Batch(int(rows[-1][0]), len(rows), len(changed))


def key_counts(
    session: Session, *, batch: int = 5000, progress: Callable[[int], None] | None = None
) -> dict[str, dict[str, int]]:
    """Count sealed values per key id, per source (read in batches, nothing changed)."""
    out: dict[str, dict[str, int]] = {}
    for source in SOURCES:
        counts: Counter[str] = Counter()
        after = 0
        while rows := _scan(session, source, after=after, limit=batch):
            for _key, raw in rows:
                token = _stored_token(source, raw)
                if token is not None:
                    counts[key_id_of(token)] += 1
            after = int(rows[-1][0])
            if progress:
                progress(len(rows))
        out[source.name] = dict(sorted(counts.items()))
    return out
