"""Audit use cases: append an entry to the chain, verify the chain, search it in a jurisdiction.

Services flush, never commit: the entry is written in the transaction of the change it
describes, so either both are kept or neither is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, false, select, text, true, type_coerce
from sqlalchemy.orm import Session

from tongxin.audit.context import Actor, cli_actor
from tongxin.audit.models import AuditEntry
from tongxin.audit.rules import (
    CONTENT_FIELDS,
    GENESIS_HASH,
    Break,
    ChainEntry,
    entry_hash,
    first_broken,
    scrub,
)
from tongxin.registry.models import Area
from tongxin.registry.queries import Scope
from tongxin.registry.rules import AreaLevel
from tongxin.registry.service import level_column

# Key of the PostgreSQL advisory lock that serialises appends ("tx-audit" in ASCII digits).
_CHAIN_LOCK_KEY = 7_478_617_564_105_116
VERIFY_CHUNK = 5000
# Ancestor ids each entry copies from its area (decision 0001).
_COPIED_COLUMNS = frozenset({"district_id", "street_id", "community_id"})


def _take_chain_lock(session: Session) -> None:
    """Become the only writer of the chain until this transaction ends.

    Two appends reading the same last entry would fork the chain. PostgreSQL: a transaction
    advisory lock, released at commit or rollback. SQLite: a write that touches no row makes
    this transaction the single writer before it reads the last entry (the same idea as
    screening.projections.take_writer_lock).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
    elif dialect == "sqlite":
        session.execute(text("UPDATE audit_log SET number = number WHERE 1 = 0"))


def _area_columns(area: Area | None) -> dict[str, int | None]:
    if area is None:
        return {"area_id": None, "district_id": None, "street_id": None, "community_id": None}
    return {
        "area_id": area.id,
        "district_id": area.district_id,
        "street_id": area.street_id,
        "community_id": area.community_id,
    }


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | int,
    area: Area | int | None,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry, linked to the last one, in the caller's transaction.

    `area` (a node or its id) is where the action happened; readers see the entry when it
    lies in their jurisdiction. Call it after the change it describes: the chain lock is
    then held only until commit and always taken last, so two transactions never wait on
    each other in a circle.
    """
    if isinstance(area, int):
        area = session.get(Area, area)
    summary: dict[str, Any] = {}
    if before is not None:
        summary["before"] = scrub(before)
    if after is not None:
        summary["after"] = scrub(after)
    fields: dict[str, Any] = {
        "at": now,
        "actor": actor.name,
        "actor_role": actor.role,
        "source": actor.source,
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id),
        **_area_columns(area),
        "summary": summary,
    }
    _take_chain_lock(session)
    last = session.execute(
        select(AuditEntry.number, AuditEntry.hash).order_by(AuditEntry.number.desc()).limit(1)
    ).first()
    number, prev_hash = (last[0] + 1, last[1]) if last is not None else (1, GENESIS_HASH)
    entry = AuditEntry(
        number=number,
        prev_hash=prev_hash,
        hash=entry_hash(prev_hash, number, fields, key=actor.key),
        **fields,
    )
    session.add(entry)
    session.flush()
    return entry


def record_command(
    session: Session,
    *,
    action: str,
    target_type: str,
    target_id: str | int,
    area: Area | int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record what a `tongxin` command did, as the operating-system user running it, now."""
    return record(
        session,
        actor=cli_actor(),
        action=action,
        target_type=target_type,
        target_id=target_id,
        area=area,
        now=datetime.now(UTC),
        before=before,
        after=after,
    )


# Plain rows, not ORM objects: a walk over millions of entries must not fill the identity map.
# The time and the summary are read as the driver gives them, not through their column
# types: on SQLite a tamperer can store text that is no JSON or no time, and verify must
# name that entry instead of failing on it (see _readable).
_RAW_FIELDS = {"at", "summary"}
_CHAIN_COLUMNS = [
    AuditEntry.number,
    AuditEntry.prev_hash,
    AuditEntry.hash,
    *(
        type_coerce(getattr(AuditEntry, name), Text).label(name)
        if name in _RAW_FIELDS
        else getattr(AuditEntry, name)
        for name in CONTENT_FIELDS
    ),
]


def _readable(name: str, value: Any) -> Any:
    """Turn a raw time or summary into what was hashed; leave an unreadable one as it is.

    An unreadable value cannot hash like the original, so the walk names its entry.
    """
    if not isinstance(value, str):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
    try:
        if name == "summary":
            return json.loads(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class Verdict:
    """The result of walking the chain: entries checked, the first break, and the head."""

    checked: int
    broken: Break | None
    head_number: int | None
    head_hash: str | None


def verify(session: Session, *, key: str | None = None, chunk: int = VERIFY_CHUNK) -> Verdict:
    """Walk the whole chain in number order, `chunk` rows at a time; stop at the first break."""
    walked: list[ChainEntry] = []

    def stream() -> Iterator[ChainEntry]:
        after = 0
        while True:
            rows = session.execute(
                select(*_CHAIN_COLUMNS)
                .where(AuditEntry.number > after)
                .order_by(AuditEntry.number)
                .limit(chunk)
            ).all()
            if not rows:
                return
            for row in rows:
                entry = ChainEntry(
                    number=row.number,
                    fields={name: _readable(name, row._mapping[name]) for name in CONTENT_FIELDS},
                    prev_hash=row.prev_hash,
                    hash=row.hash,
                )
                # Only the last entry is kept: the count and the head are all verify reports.
                walked[:] = [entry]
                count[0] += 1
                yield entry
            after = rows[-1].number

    count = [0]
    broken = first_broken(stream(), key=key)
    head = walked[0] if walked and broken is None else None
    return Verdict(
        checked=count[0],
        broken=broken,
        head_number=head.number if head else None,
        head_hash=head.hash if head else None,
    )


@dataclass(frozen=True)
class AuditFilters:
    """What a reader searches the log for; every field narrows, None means any."""

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def in_scope(scope: Scope) -> ColumnElement[bool]:
    """Return the WHERE clause keeping entries that concern an area inside the scope.

    Entries without an area (system-wide accounts, for example) are seen only by
    system-wide readers.
    """
    if scope.whole:
        return true()
    root = scope.root
    if root is None:
        return false()
    col = level_column(AreaLevel(root.level))
    if col in _COPIED_COLUMNS:
        return getattr(AuditEntry, col) == root.id
    if col is None:
        return AuditEntry.area_id == root.id
    # Below a community the copies stop: look the subtree up in the area tree.
    inside = select(Area.id).where(getattr(Area, col) == root.id)
    return and_(AuditEntry.community_id == root.community_id, AuditEntry.area_id.in_(inside))


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first, and the cursor of the next page (None at the end)."""

    entries: Sequence[AuditEntry]
    next_after: int | None


def search(
    session: Session,
    *,
    scope: Scope,
    filters: AuditFilters,
    limit: int = 50,
    after: int | None = None,
) -> AuditPage:
    """Return entries inside the scope that match the filters, newest first.

    Keyset pagination: `after` is the number of the last entry of the previous page, so a
    deep page costs what the first one does.
    """
    query = select(AuditEntry).where(in_scope(scope))
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action:
        # A dotted prefix (`registry`, `screening.round`) finds the whole family.
        query = query.where(
            (AuditEntry.action == filters.action)
            | AuditEntry.action.startswith(filters.action + ".", autoescape=True)
        )
    if filters.target_type:
        query = query.where(AuditEntry.target_type == filters.target_type)
    if filters.target_id:
        query = query.where(AuditEntry.target_id == filters.target_id)
    if filters.since is not None:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.at < filters.until)
    if after is not None:
        query = query.where(AuditEntry.number < after)
    rows = list(session.scalars(query.order_by(AuditEntry.number.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(entries=rows, next_after=rows[-1].number if more and rows else None)
