"""Pure audit-chain rules: canonical form of an entry, its hash, and finding the first break.

Each entry's hash covers its number, its content and the previous entry's hash, so editing,
deleting, renumbering or inserting any entry breaks the chain at that entry. Without a key
the hash is plain SHA-256, which anyone can recompute; with a key it is HMAC-SHA-256, which
someone with write access to the database but without the key cannot forge.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

# The previous hash of entry 1: the chain has to start somewhere fixed, or deleting the first
# entries would go unnoticed.
GENESIS_HASH = "0" * 64

# The content fields of an entry, in the order the table holds them. `number` and
# `prev_hash` are hashed too, apart from these.
CONTENT_FIELDS = (
    "at",
    "actor",
    "actor_role",
    "source",
    "action",
    "target_type",
    "target_id",
    "area_id",
    "district_id",
    "street_id",
    "community_id",
    "summary",
)


class Problem(StrEnum):
    """What is wrong at the first broken entry."""

    MISSING = "missing"  # the expected number is absent: an entry was deleted or renumbered
    OUT_OF_ORDER = "out_of_order"  # a number repeats or goes back
    LINK = "link"  # prev_hash is not the hash of the entry before
    HASH = "hash"  # the hash does not match the content: the entry was edited or forged


PROBLEM_TEXT = {
    Problem.MISSING: "entry {number} is missing (the next one found is {found})",
    Problem.OUT_OF_ORDER: "entry {found} appears where entry {number} was expected",
    Problem.LINK: "entry {number} does not link to the hash of entry {previous}",
    Problem.HASH: "entry {number}'s hash does not match its content (edited or forged)",
}


@dataclass(frozen=True)
class ChainEntry:
    """One audit entry as the chain sees it: number, content fields, links."""

    number: int
    fields: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Break:
    """Where the chain first breaks: the number expected there, what was found, and why."""

    number: int
    found: int
    problem: Problem

    def describe(self) -> str:
        """Return one English sentence naming the entry and the problem."""
        return PROBLEM_TEXT[self.problem].format(
            number=self.number, found=self.found, previous=self.number - 1
        )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an audit entry")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    raise TypeError(f"cannot put {type(value).__name__} into an audit entry")


def canonical(number: int, fields: Mapping[str, Any]) -> str:
    """Serialise an entry's number and content the one way the hash sees it.

    Sorted keys, no spaces, UTF-8 kept, times in UTC ISO with microseconds: what the
    database hands back (JSON objects in any key order, times in any zone) hashes the same.
    """
    body = {name: fields.get(name) for name in CONTENT_FIELDS}
    body["number"] = number
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


def entry_hash(
    prev_hash: str, number: int, fields: Mapping[str, Any], *, key: str | None = None
) -> str:
    """Return the hex hash of an entry linked to `prev_hash` (HMAC-SHA-256 when keyed)."""
    message = (prev_hash + "\n" + canonical(number, fields)).encode("utf-8")
    if key:
        return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def first_broken(entries: Iterable[ChainEntry], *, key: str | None = None) -> Break | None:
    """Walk entries in number order from 1; return the first break, or None when intact.

    The sequence is consumed lazily, so a caller may stream millions of entries.
    """
    expected, previous = 1, GENESIS_HASH
    for entry in entries:
        if entry.number > expected:
            return Break(expected, entry.number, Problem.MISSING)
        if entry.number < expected:
            return Break(expected, entry.number, Problem.OUT_OF_ORDER)
        if not hmac.compare_digest(entry.prev_hash, previous):
            return Break(expected, entry.number, Problem.LINK)
        if not hmac.compare_digest(
            entry.hash, entry_hash(entry.prev_hash, entry.number, entry.fields, key=key)
        ):
            return Break(expected, entry.number, Problem.HASH)
        expected, previous = expected + 1, entry.hash
    return None


# Belt and braces for summaries: callers summarise with masked values already, but an ID
# number or a mobile number that slips in is masked before it is written (and hashed).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """Mask every full ID number and mobile number inside a string."""
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def scrub(value: Any) -> Any:
    """Return a JSON-ready copy of a summary with ID and mobile numbers masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {str(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [scrub(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime):
        return _plain(value)
    return value
