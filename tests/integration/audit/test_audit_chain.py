"""The audit chain on a real database: commands write it, tampering with SQL is caught."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.factories.registry import build_tree
from tongxin.audit.context import Actor
from tongxin.audit.models import AuditEntry
from tongxin.audit.rules import Problem, entry_hash
from tongxin.audit.service import AuditFilters, record, search, verify
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.models import Area
from tongxin.registry.queries import Scope
from tongxin.settings import get_settings

COMMUNITY = "520113001001"
OTHER = "520113001002"
T0 = datetime(2022, 9, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def cli(db, database_url, monkeypatch):
    """A runner whose commands use the test database, with the small tree committed."""
    monkeypatch.setenv("TONGXIN_DATABASE_URL", database_url)
    monkeypatch.delenv("TONGXIN_AUDIT_KEY", raising=False)
    get_settings.cache_clear()
    with session_scope(make_sessionmaker(db)) as s:
        build_tree(s)
    yield CliRunner()
    get_settings.cache_clear()


def run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def set_up_round(runner) -> None:
    """Run six audited commands: round, lab, site, tubes, a device token and a user."""
    commands = [
        ["screening", "round", "create", "--code", "R1", "--name", "第一轮", "--district",
         "520113", "--target", f"{COMMUNITY}:controlled", "--target", f"{OTHER}:precaution"],
        ["screening", "lab", "add", "--code", "LAB1", "--name", "金域", "--round", "R1"],
        ["screening", "site", "add", "--round", "R1", "--code", "S1", "--name", "广场",
         "--area", COMMUNITY, "--stations", "2"],
        ["screening", "tubes", "issue", "--round", "R1", "--count", "3", "--capacity", "10"],
        ["tokens", "issue", "--round", "R1", "--site", "S1", "--device", "pad-07"],
        ["users", "create", "wang", "--role", "community_worker", "--area", COMMUNITY,
         "--password", "tongxin-test-1"],
    ]  # fmt: skip
    for args in commands:
        result = run(runner, *args)
        assert result.exit_code == 0, result.output


def verdict_of(db, key=None):
    with session_scope(make_sessionmaker(db)) as s:
        return verify(s, key=key, chunk=2)


def tamper(db, *statements: str) -> None:
    with db.begin() as c:
        for statement in statements:
            c.execute(text(statement))


def test_commands_write_a_linked_chain_with_who_what_and_where(cli, db):
    set_up_round(cli)
    with session_scope(make_sessionmaker(db)) as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.number)))
        community = s.scalar(select(Area).where(Area.code == COMMUNITY))
    assert [e.action for e in entries] == [
        "screening.round.create",
        "screening.lab.add",
        "screening.site.add",
        "screening.tubes.issue",
        "screening.token.issue",
        "accounts.user.create",
    ]
    assert [e.number for e in entries] == [1, 2, 3, 4, 5, 6]
    assert all(e.actor.startswith("cli:") and e.source == "cli" for e in entries)
    site, token, user = entries[2], entries[4], entries[5]
    assert (site.area_id, site.community_id) == (community.id, community.id)
    assert site.district_id == community.district_id
    assert "token" not in token.summary["after"]
    assert user.summary["after"]["username"] == "wang"
    assert entries[1].prev_hash == entries[0].hash
    verdict = verdict_of(db)
    assert (verdict.checked, verdict.broken, verdict.head_number) == (6, None, 6)
    assert verdict.head_hash == entries[-1].hash


@pytest.mark.parametrize(
    ("edit", "number"),
    [
        ("""SET summary = '{"after": {}}' WHERE number = 3""", 3),
        ("SET actor = 'someone-else' WHERE number = 5", 5),
        ("SET area_id = NULL, community_id = NULL WHERE number = 3", 3),
        ("SET number = 60 WHERE number = 6", 6),
    ],
)
def test_an_edited_entry_is_named(cli, db, edit, number):
    set_up_round(cli)
    tamper(db, f"UPDATE audit_log {edit}")
    broken = verdict_of(db).broken
    assert broken is not None
    assert broken.number == number


def test_a_deleted_middle_entry_is_named_as_missing(cli, db):
    set_up_round(cli)
    tamper(db, "DELETE FROM audit_log WHERE number = 4")
    verdict = verdict_of(db)
    assert verdict.broken is not None
    assert (verdict.broken.number, verdict.broken.found) == (4, 5)
    assert verdict.broken.problem == Problem.MISSING
    assert verdict.checked == 4


def test_two_swapped_entries_are_caught_at_the_first(cli, db):
    set_up_round(cli)
    tamper(
        db,
        "UPDATE audit_log SET number = 1000 WHERE number = 2",
        "UPDATE audit_log SET number = 2 WHERE number = 4",
        "UPDATE audit_log SET number = 4 WHERE number = 1000",
    )
    broken = verdict_of(db).broken
    assert broken is not None
    assert broken.number == 2
    assert broken.problem in (Problem.LINK, Problem.HASH)


def _forge_after_head(db, *, key: str | None, bad_hash: bool = False) -> None:
    """Insert entry 7 as an attacker with write access would, linked to the real head."""
    with session_scope(make_sessionmaker(db)) as s:
        head = s.scalar(select(AuditEntry).order_by(AuditEntry.number.desc()).limit(1))
        assert head is not None and head.number == 6
        content = {
            "at": T0,
            "actor": "admin",
            "actor_role": "admin",
            "source": "127.0.0.1",
            "action": "accounts.user.create",
            "target_type": "user",
            "target_id": "ghost",
            "area_id": None,
            "district_id": None,
            "street_id": None,
            "community_id": None,
            "summary": {},
        }
        forged_hash = "0" * 64 if bad_hash else entry_hash(head.hash, 7, content, key=key)
        s.add(AuditEntry(number=7, prev_hash=head.hash, hash=forged_hash, **content))


def test_a_forged_row_with_a_wrong_hash_is_named(cli, db):
    set_up_round(cli)
    _forge_after_head(db, key=None, bad_hash=True)
    broken = verdict_of(db).broken
    assert broken is not None
    assert (broken.number, broken.problem) == (7, Problem.HASH)


def test_a_plain_chain_cannot_tell_a_recomputed_forgery(cli, db):
    """What docs/security.md says: without a key, someone who recomputes the hash wins."""
    set_up_round(cli)
    _forge_after_head(db, key=None)
    assert verdict_of(db).broken is None


def test_a_keyed_chain_catches_a_forgery_made_without_the_key(cli, db, monkeypatch):
    monkeypatch.setenv("TONGXIN_AUDIT_KEY", "k" * 40)
    get_settings.cache_clear()
    set_up_round(cli)
    assert verdict_of(db, key="k" * 40).broken is None
    assert verdict_of(db).broken is not None  # the plain walk cannot read a keyed chain
    _forge_after_head(db, key=None)
    broken = verdict_of(db, key="k" * 40).broken
    assert broken is not None
    assert (broken.number, broken.problem) == (7, Problem.HASH)


def test_audit_verify_exits_1_naming_the_entry(cli, db):
    set_up_round(cli)
    intact = run(cli, "audit", "verify", "--json")
    assert intact.exit_code == 0, intact.output
    assert json.loads(intact.stdout)["checked"] == 6
    tamper(db, "UPDATE audit_log SET target_id = 'R2' WHERE number = 2")
    result = run(cli, "audit", "verify")
    assert result.exit_code == 1
    assert "entry 2" in result.stdout
    as_json = json.loads(run(cli, "audit", "verify", "--json").stdout)
    assert as_json["intact"] is False
    assert as_json["broken"]["number"] == 2
    assert as_json["broken"]["problem"] == "hash"


def test_audit_list_filters_by_action_prefix_and_actor(cli, db):
    set_up_round(cli)
    rows = json.loads(run(cli, "audit", "list", "--action", "screening", "--json").stdout)
    assert [r["number"] for r in rows] == [5, 4, 3, 2, 1]
    rows = json.loads(run(cli, "audit", "list", "--action", "accounts.user", "--json").stdout)
    assert [r["target"] for r in rows] == ["user:wang"]
    actor = rows[0]["actor"]
    assert len(json.loads(run(cli, "audit", "list", "--actor", actor, "--json").stdout)) == 6
    assert len(json.loads(run(cli, "audit", "list", "--limit", "2", "--json").stdout)) == 2


ADMIN = Actor(name="admin", role="admin", source="10.0.0.9")


def test_search_keeps_to_the_jurisdiction_and_pages_by_number(db):
    with session_scope(make_sessionmaker(db)) as s:
        tree = build_tree(s)
        places = [tree.community, tree.other_community, tree.street, tree.building, None]
        for i, area in enumerate(places):
            record(s, actor=ADMIN, action="test.thing", target_type="thing", target_id=i,
                   area=area, now=T0 + timedelta(minutes=i))  # fmt: skip

        def numbers(scope, **filters):
            return [
                e.number for e in search(s, scope=scope, filters=AuditFilters(**filters)).entries
            ]

        assert numbers(Scope.everything()) == [5, 4, 3, 2, 1]
        assert numbers(Scope.nothing()) == []
        assert numbers(Scope.under(tree.district)) == [4, 3, 2, 1]
        assert numbers(Scope.under(tree.street)) == [4, 3, 2, 1]
        assert numbers(Scope.under(tree.community)) == [4, 1]
        assert numbers(Scope.under(tree.other_community)) == [2]
        # Below a community the subtree comes from the area tree.
        assert numbers(Scope.under(tree.building)) == [4]
        assert numbers(Scope.everything(), since=T0 + timedelta(minutes=1),
                       until=T0 + timedelta(minutes=3)) == [3, 2]  # fmt: skip
        assert numbers(Scope.everything(), target_type="thing", target_id="2") == [3]
        first = search(s, scope=Scope.everything(), filters=AuditFilters(), limit=2)
        assert [e.number for e in first.entries] == [5, 4] and first.next_after == 4
        second = search(
            s, scope=Scope.everything(), filters=AuditFilters(), limit=2, after=first.next_after
        )
        assert [e.number for e in second.entries] == [3, 2]
        last = search(s, scope=Scope.everything(), filters=AuditFilters(), limit=2, after=2)
        assert [e.number for e in last.entries] == [1] and last.next_after is None


def test_summaries_mask_id_and_phone_numbers(db):
    with session_scope(make_sessionmaker(db)) as s:
        entry = record(
            s, actor=ADMIN, action="pii.reveal", target_type="resident", target_id="R0001",
            area=None, now=T0, after={"id_number": "52010219800101123X", "phone": "13812345678"},
        )  # fmt: skip
        assert entry.summary == {
            "after": {"id_number": "5201**********123X", "phone": "138****5678"}
        }
    assert verdict_of(db).broken is None


def test_concurrent_writers_do_not_fork_the_chain(db):
    factory = make_sessionmaker(db)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(10):
                with session_scope(factory) as s:
                    record(s, actor=Actor(name=name, role=None, source=name), action="test.race",
                           target_type="thing", target_id=i, area=None, now=T0)  # fmt: skip
        except BaseException as exc:  # surfaced below: a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    verdict = verdict_of(db)
    assert (verdict.checked, verdict.broken) == (30, None)


def test_an_unreadable_summary_or_time_is_named_not_a_crash(cli, db):
    set_up_round(cli)
    sqlite = db.dialect.name == "sqlite"
    # SQLite stores any text in any column; PostgreSQL refuses bad JSON and bad times itself.
    if sqlite:
        tamper(db, "UPDATE audit_log SET at = 'yesterday' WHERE number = 4")
        broken = verdict_of(db).broken
        assert broken is not None
        assert (broken.number, broken.problem) == (4, Problem.HASH)
    bad_summary = "not json" if sqlite else '["a"]'
    tamper(db, f"UPDATE audit_log SET summary = '{bad_summary}' WHERE number = 2")
    broken = verdict_of(db).broken
    assert broken is not None
    assert (broken.number, broken.problem) == (2, Problem.HASH)
