"""The audit chain rules: canonical form, hashing and finding the first broken entry."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from tongxin.audit.rules import (
    GENESIS_HASH,
    ChainEntry,
    Problem,
    canonical,
    entry_hash,
    first_broken,
    mask_text,
    scrub,
)

T0 = datetime(2022, 9, 23, 4, 0, tzinfo=UTC)


def fields(i: int, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "at": T0 + timedelta(minutes=i),
        "actor": f"user{i}",
        "actor_role": "admin",
        "source": "10.0.0.1",
        "action": "screening.round.create",
        "target_type": "round",
        "target_id": f"R{i}",
        "area_id": 7,
        "district_id": 1,
        "street_id": 3,
        "community_id": 7,
        "summary": {"after": {"code": f"R{i}", "targets": ["A", "B"]}},
    }
    base.update(changes)
    return base


def chain(contents: list[dict[str, object]], key: str | None = None) -> list[ChainEntry]:
    out, prev = [], GENESIS_HASH
    for number, content in enumerate(contents, 1):
        h = entry_hash(prev, number, content, key=key)
        out.append(ChainEntry(number=number, fields=content, prev_hash=prev, hash=h))
        prev = h
    return out


def test_canonical_form_ignores_key_order_and_time_zone() -> None:
    a = fields(1, summary={"after": {"x": 1, "y": 2}})
    b = dict(reversed(list(fields(1, summary={"after": {"y": 2, "x": 1}}).items())))
    b["at"] = T0.astimezone(timezone(timedelta(hours=8))) + timedelta(minutes=1)
    assert canonical(1, a) == canonical(1, b)
    assert '"number":1' in canonical(1, a)


def test_an_intact_chain_has_no_break() -> None:
    assert first_broken(chain([fields(i) for i in range(5)])) is None
    assert first_broken([]) is None


def test_an_edited_summary_breaks_the_chain_at_that_entry() -> None:
    entries = chain([fields(i) for i in range(5)])
    entries[2] = dataclasses.replace(entries[2], fields=fields(2, summary={"after": {}}))
    broken = first_broken(entries)
    assert broken is not None
    assert (broken.number, broken.problem) == (3, Problem.HASH)
    assert "entry 3" in broken.describe()


def test_a_deleted_entry_is_named_as_missing() -> None:
    entries = chain([fields(i) for i in range(5)])
    del entries[1]
    broken = first_broken(entries)
    assert broken is not None
    assert (broken.number, broken.found, broken.problem) == (2, 3, Problem.MISSING)
    assert broken.describe() == "entry 2 is missing (the next one found is 3)"


def test_a_chain_recomputed_without_the_key_fails_keyed_verification() -> None:
    forged = chain([fields(i) for i in range(3)])
    assert first_broken(forged) is None
    broken = first_broken(forged, key="secret")
    assert broken is not None
    assert (broken.number, broken.problem) == (1, Problem.HASH)
    assert first_broken(chain([fields(i) for i in range(3)], key="secret"), key="secret") is None


def test_summaries_never_keep_full_id_or_mobile_numbers() -> None:
    summary = scrub({"person": "身份证 52010219800101123X 电话 13812345678", "n": 3, "t": ("a",)})
    assert summary == {"person": "身份证 5201**********123X 电话 138****5678", "n": 3, "t": ["a"]}
    assert mask_text("tube T00012345678901") == "tube T00012345678901"


# Mutations an attacker with write access could make to one stored entry.
EDITABLE = ("actor", "action", "target_id", "summary", "at", "community_id")


@st.composite
def chain_and_mutation(draw: st.DrawFn) -> tuple[list[ChainEntry], int, list[ChainEntry]]:
    """A valid chain, the number where one mutation should be caught, and the mutated chain."""
    n = draw(st.integers(min_value=2, max_value=12))
    key = draw(st.sampled_from([None, "k"]))
    entries = chain([fields(i) for i in range(n)], key=key)
    i = draw(st.integers(min_value=0, max_value=n - 1))
    kind = draw(st.sampled_from(["edit", "hash", "link", "delete", "swap", "insert"]))
    mutated = list(entries)
    if kind == "edit":
        name = draw(st.sampled_from(EDITABLE))
        new = {**entries[i].fields, name: _changed(entries[i].fields[name])}
        mutated[i] = dataclasses.replace(entries[i], fields=new)
        return entries, i + 1, mutated
    if kind == "hash":
        mutated[i] = dataclasses.replace(entries[i], hash="f" * 64)
        return entries, i + 1, mutated
    if kind == "link":
        mutated[i] = dataclasses.replace(entries[i], prev_hash="e" * 64)
        return entries, i + 1, mutated
    if kind == "delete":
        # Deleting the last entry cannot be seen from inside the chain (see docs/security.md).
        i = min(i, n - 2)
        del mutated[i]
        return entries, i + 1, mutated
    if kind == "swap":
        j = draw(st.integers(min_value=0, max_value=n - 1).filter(lambda j: j != i))
        lo, hi = sorted((i, j))
        # Swap the numbers of two rows; the chain is read back in number order.
        mutated[lo] = dataclasses.replace(entries[hi], number=entries[lo].number)
        mutated[hi] = dataclasses.replace(entries[lo], number=entries[hi].number)
        return entries, lo + 1, mutated
    # insert: a forged entry at position i, later entries renumbered to make room
    forged = ChainEntry(
        number=i + 1,
        fields=fields(99),
        prev_hash=entries[i].prev_hash,
        hash=entry_hash(entries[i].prev_hash, i + 1, fields(99), key="not-the-key"),
    )
    shifted = [dataclasses.replace(e, number=e.number + 1) for e in entries[i:]]
    return entries, i + 1, [*entries[:i], forged, *shifted]


def _changed(value: object) -> object:
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, int):
        return value + 1
    if isinstance(value, dict):
        return {**value, "extra": True}
    return f"{value}x"


@given(chain_and_mutation())
def test_any_single_mutation_is_caught_at_the_mutated_entry(
    case: tuple[list[ChainEntry], int, list[ChainEntry]],
) -> None:
    original, expected, mutated = case
    key = "k" if first_broken(original, key="k") is None else None
    assert first_broken(original, key=key) is None
    broken = first_broken(mutated, key=key)
    assert broken is not None
    assert broken.number == expected
