"""Personal-data use cases: keyed lookups, sealed event payloads, full-value displays, rotation.

Rotation re-encrypts one batch per call; the caller (`tongxin keys rotate`) commits each batch
in its own transaction, so readers and writers carry on between batches. Every stored value
names its key, and the ring holds the old keys as well as the current one, so a value read
before, during or after its batch opens, and a rotation stopped anywhere can simply run again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, String, bindparam, func, select, type_coerce, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tongxin.privacy.crypto import KeyRing, is_sealed, key_id_of
from tongxin.privacy.keys import ring_of
from tongxin.privacy.rules import Detail, may_see_full

PAYLOAD_ID_COLUMN = "events.payload.person.id_number"
PAYLOAD_SOURCE = "events.payload"


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


# Where personal data sits in a stored event payload: the ID number a swab_taken by ID
# details carries, and the text of a line that was not JSON at all (it may hold anything).
PAYLOAD_FIELDS: tuple[tuple[str, ...], ...] = (("person", "id_number"), ("unparsed",))


def _column(path: tuple[str, ...]) -> str:
    return "events.payload." + ".".join(path)


def _get(payload: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(payload, Mapping):
            return None
        payload = payload.get(part)
    return payload


def _with(payload: Mapping[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    head, *rest = path
    inner = value if not rest else _with(payload[head], tuple(rest), value)
    return {**payload, head: inner}


def seal_payload(ring: KeyRing, payload: Any) -> Any:
    """Return an event payload with its personal fields sealed (other payloads unchanged).

    Every string there is sealed, even one that looks sealed already, so nothing a device
    sends is later mistaken for a stored value.
    """
    for path in PAYLOAD_FIELDS:
        value = _get(payload, path)
        if isinstance(value, str):
            payload = _with(payload, path, ring.encrypt(value, column=_column(path)))
    return payload


def seal_event_payloads(bind: Session | Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Seal the personal fields of each event row's payload before the row is stored."""
    ring = ring_of(bind)
    for row in rows:
        row["payload"] = seal_payload(ring, row["payload"])


def open_payload(ring: KeyRing, payload: Any) -> Any:
    """Return a stored event payload with its sealed fields opened, as the device sent it."""
    for path in PAYLOAD_FIELDS:
        value = _get(payload, path)
        if is_sealed(value):
            payload = _with(payload, path, ring.decrypt(str(value), column=_column(path)))
    return payload


def payload_tokens(payload: Any) -> list[str]:
    """Return the sealed values a stored payload holds."""
    return [str(v) for path in PAYLOAD_FIELDS if is_sealed(v := _get(payload, path))]


# --- full values on screens and in exports ---------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who looks at a full value: enough to audit it."""

    username: str
    role: str
    where: str | None = None  # IP address or device, when known
    audit_key: str | None = field(default=None, repr=False)  # the audit chain's key, if any


def command_viewer() -> Viewer:
    """Return the viewer of a CLI command: the operating-system account that runs it."""
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        name = "unknown"
    from tongxin.settings import get_settings

    return Viewer(
        username=f"cli:{name}",
        role="cli",
        where="cli",
        audit_key=get_settings().audit_key or None,
    )


def export_stamp(viewer: Viewer, at: datetime) -> str:
    """Return the "who, when" line every export file carries."""
    who = f"导出人 Exported by: {viewer.username} ({viewer.role})"
    return f"{who}  导出时间 Exported at: {at:%Y-%m-%d %H:%M:%S %Z}".strip()


def note_full_display(
    session: Session,
    *,
    viewer: Viewer,
    what: Detail | str,
    target: str,
    count: int = 1,
    area: int | None = None,
) -> None:
    """Record in the audit log that a full (unmasked) personal value was shown or exported.

    Every such display goes through here, in the caller's transaction. `target` reads
    "<kind> <id>" (e.g. "resident 02F3EYDH2") or is a description of an export; `area` is
    where the person or the export lies, so the entry shows to that jurisdiction.
    """
    from tongxin.audit.context import Actor
    from tongxin.audit.service import record

    kind, _, ident = target.partition(" ")
    record(
        session,
        actor=Actor(viewer.username, viewer.role, viewer.where, viewer.audit_key),
        action="pii.full_display",
        target_type=kind if ident and " " not in ident else "export",
        target_id=ident if ident and " " not in ident else target[:120],
        area=area,
        now=datetime.now(UTC),
        after={"detail": str(what), "count": count},
    )


class RevealRefused(PermissionError):
    """The viewer's role may not see this detail whole."""


@dataclass(frozen=True)
class RecordView:
    """Which details of one person's record are shown whole to this viewer."""

    full_id: bool
    full_phone: bool
    may_reveal_id: bool


def view_record(
    session: Session,
    *,
    viewer: Viewer,
    target: str,
    has_phone: bool,
    reveal_id: bool,
    area: int | None = None,
) -> RecordView:
    """Decide what a person's record shows whole, noting each full value; refuse a reveal.

    The ID number is whole only when asked for (`reveal_id`) by a role that may see it;
    the phone is whole for roles that call people.
    """
    may_reveal_id = may_see_full(viewer.role, Detail.ID_NUMBER)
    if reveal_id and not may_reveal_id:
        raise RevealRefused(f"role {viewer.role} may not see full ID numbers")
    full_phone = has_phone and may_see_full(viewer.role, Detail.PHONE)
    if reveal_id:
        note_full_display(session, viewer=viewer, what=Detail.ID_NUMBER, target=target, area=area)
    if full_phone:
        note_full_display(session, viewer=viewer, what=Detail.PHONE, target=target, area=area)
    return RecordView(reveal_id, full_phone, may_reveal_id)


# --- rotation and status -----------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A place sealed values live: a table column, or the personal fields of event payloads."""

    name: str
    table: str
    key: str
    value: str
    payload: bool = False


SOURCES = (
    Source("residents.id_number", "residents", "id", "id_number"),
    Source("swabs.id_number", "swabs", "id", "id_number"),
    Source(PAYLOAD_SOURCE, "events", "number", "payload", payload=True),
)


def _table(session: Session, source: Source) -> Any:
    from tongxin.models import metadata

    return metadata.tables[source.table]


def _scan(session: Session, source: Source, *, after: int, limit: int) -> list[Any]:
    t = _table(session, source)
    key, value = t.c[source.key], t.c[source.value]
    raw = type_coerce(value, JSON if source.payload else String)
    # Every event is read, not only swab_taken: a malformed event keeps what it was sent.
    stmt = select(key, raw).where(key > after, value.is_not(None)).order_by(key).limit(limit)
    return list(session.execute(stmt).tuples())


def _stored_tokens(source: Source, raw: Any) -> list[str]:
    return payload_tokens(raw) if source.payload else [str(raw)]


def count_rows(session: Session, source: Source) -> int:
    """Count the rows of a source that may hold a sealed value (the rotation's total)."""
    t = _table(session, source)
    stmt = select(func.count()).select_from(t).where(t.c[source.value].is_not(None))
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
        tokens = _stored_tokens(source, raw)
        if all(key_id_of(token) == ring.current for token in tokens):
            continue
        if source.payload:
            fresh: Any = seal_payload(ring, open_payload(ring, raw))
        else:
            fresh = ring.encrypt(ring.decrypt(tokens[0], column=source.name), column=source.name)
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
                for token in _stored_tokens(source, raw):
                    counts[key_id_of(token)] += 1
            after = int(rows[-1][0])
            if progress:
                progress(len(rows))
        out[source.name] = dict(sorted(counts.items()))
    return out
