"""The /audit page: administrators and commanders search the log inside their jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.web.conftest import World, add_user, post_form, sign_in
from tests.web.test_import_page import _csv, _good_rows, _upload
from tongxin.accounts.rules import Role
from tongxin.audit.context import Actor
from tongxin.audit.models import AuditEntry
from tongxin.audit.service import record
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.models import Area

T0 = datetime(2022, 9, 23, 0, 30, tzinfo=UTC)  # 08:30 in Guiyang
CLI = Actor(name="cli:ops", role=None, source="cli")


@pytest.fixture
def logged(world: World, db, password_hash: str) -> World:
    """Entries in both communities and one without an area; a commander of 新星社区."""
    with session_scope(make_sessionmaker(db)) as s:
        areas = {a.code: a for a in s.scalars(select(Area))}
        mine, other = areas[world.community], areas[world.other_community]
        for i, (area, action) in enumerate(
            [
                (mine, "screening.site.add"),
                (other, "screening.site.add"),
                (None, "accounts.user.create"),
                (mine, "registry.import.apply"),
            ]
        ):
            record(s, actor=CLI, action=action, target_type="thing", target_id=f"T{i + 1}",
                   area=area, now=T0 + timedelta(days=i))  # fmt: skip
        add_user(s, password_hash, "chief", Role.COMMANDER, jurisdiction_id=mine.id)
    return world


def _numbers(html: str) -> list[int]:
    return [int(part.split('"', 1)[0]) for part in html.split('data-number="')[1:]]


def test_a_system_wide_administrator_sees_every_entry_newest_first(admin, logged):
    page = admin.get("/audit")
    assert page.status_code == 200
    assert _numbers(page.text) == [4, 3, 2, 1]
    assert "审计日志" in page.text and 'href="/audit"' in page.text


def test_a_commander_sees_only_entries_of_their_jurisdiction(client, logged):
    sign_in(client, "chief")
    assert _numbers(client.get("/audit").text) == [4, 1]
    # A filter cannot widen the scope.
    assert _numbers(client.get("/audit", params={"target": "thing:T2"}).text) == []


def test_a_community_worker_is_refused(worker, logged):
    assert worker.get("/audit").status_code == 403
    assert 'href="/audit"' not in worker.get("/").text


def test_signed_out_readers_are_sent_to_sign_in(client, logged):
    page = client.get("/audit", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")


def test_filters_by_action_actor_target_and_china_dates(admin, logged):
    assert _numbers(admin.get("/audit", params={"action": "screening"}).text) == [2, 1]
    assert _numbers(admin.get("/audit", params={"actor": "cli:ops"}).text) == [4, 3, 2, 1]
    assert _numbers(admin.get("/audit", params={"actor": "nobody"}).text) == []
    assert _numbers(admin.get("/audit", params={"target": "T3"}).text) == [3]
    days = {"since": "2022-09-24", "until": "2022-09-25"}
    assert _numbers(admin.get("/audit", params=days).text) == [3, 2]
    assert admin.get("/audit", params={"since": "24/09/2022"}).status_code == 400


def test_pages_walk_back_by_number(admin, logged, db):
    with session_scope(make_sessionmaker(db)) as s:
        for i in range(60):
            record(s, actor=CLI, action="test.bulk", target_type="thing", target_id=i,
                   area=None, now=T0)  # fmt: skip
    first = admin.get("/audit", params={"action": "test.bulk"})
    assert _numbers(first.text) == list(range(64, 14, -1))
    assert "after=15" in first.text
    second = admin.get("/audit", params={"action": "test.bulk", "after": 15})
    assert _numbers(second.text) == list(range(14, 4, -1))
    assert 'rel="next"' not in second.text


def test_a_page_action_is_logged_with_the_user_and_address(admin, world, db):
    response = _upload(admin, _csv(_good_rows()), world.community)
    assert response.status_code == 200, response.text
    with Session(db) as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "registry.import.apply"))
        community = s.scalar(select(Area).where(Area.code == world.community))
    assert entry is not None and community is not None
    assert (entry.actor, entry.actor_role, entry.source) == ("admin", "admin", "testclient")
    assert entry.community_id == community.id
    assert entry.summary["after"]["imported"] == 2


def test_reading_a_record_and_each_full_value_shown_are_logged(worker, world, db):
    code = world.codes[sorted(world.codes)[0]]
    assert worker.get(f"/residents/{code}").status_code == 200
    assert worker.get(f"/api/v1/residents/{code}").status_code == 200
    with Session(db) as s:
        reads = list(
            s.scalars(select(AuditEntry).where(AuditEntry.action == "registry.resident.read"))
        )
        shown = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "pii.full_display")))
        community = s.scalar(select(Area).where(Area.code == world.community))
    assert [(e.actor, e.target_id) for e in reads] == [("worker", code), ("worker", code)]
    # A community worker calls people: the phone is shown whole (and logged), the ID number not.
    assert [(e.actor, e.target_id, e.summary["after"]["detail"]) for e in shown] == [
        ("worker", code, "phone"),
        ("worker", code, "phone"),
    ]
    assert community is not None
    assert all(e.community_id == community.id for e in reads + shown)


def test_people_acting_on_screening_pages_are_logged(client, staged, db):
    sign_in(client, "admin")
    post_form(client, f"/rounds/R1/rejected/{staged['event']}/resubmit", follow_redirects=False)
    sign_in(client, "worker")
    post_form(
        client,
        "/rounds/R1/recalls/step",
        data={"tube": staged["positive"], "position": 3, "type": "recall_notified"},
        follow_redirects=False,
    )
    with Session(db) as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.number)))
    assert [(e.action, e.actor, e.actor_role) for e in entries] == [
        ("screening.event.resubmit", "admin", "admin"),
        ("screening.recall.notified", "worker", "community_worker"),
    ]
    assert entries[0].target_id == staged["event"]
    assert entries[0].summary["after"]["outcome"] == "malformed"
    assert entries[1].summary["after"]["status"] == "accepted"
    assert all(e.district_id is not None for e in entries)
