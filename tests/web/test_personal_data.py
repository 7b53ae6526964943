"""Personal details on screens: masked unless the role needs them, and every full value noted."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories.registry import resident_id
from tests.web.conftest import World, add_user, sign_in
from tongxin.accounts.rules import Role
from tongxin.audit.models import AuditEntry
from tongxin.db import make_sessionmaker, session_scope

NUMBER = resident_id(2 * 7)  # 居民7, phone 13800000007
MASKED = NUMBER[:4] + "*" * 10 + NUMBER[-4:]


@pytest.fixture
def officer(client: TestClient, world: World, db, password_hash) -> TestClient:
    """The client signed in as a health-bureau officer (system-wide)."""
    with session_scope(make_sessionmaker(db)) as s:
        add_user(s, password_hash, "officer", Role.HEALTH_OFFICER, display_name="李卫健")
    sign_in(client, "officer")
    return client


def _full_displays(db) -> list[tuple[str, str, str, str]]:
    """The audit log's record of full values shown: (who, role, detail, whose record)."""
    with session_scope(make_sessionmaker(db)) as s:
        entries = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "pii.full_display")
            .order_by(AuditEntry.number)
        )
        return [(e.actor, e.actor_role, e.summary["after"]["detail"], e.target_id) for e in entries]


def test_a_community_worker_sees_masked_id_numbers_in_lists_and_on_the_record(worker, world, db):
    listed = worker.get("/residents", params={"phone": "0007"}).text
    assert MASKED in listed and NUMBER not in listed

    record = worker.get(f"/residents/{world.codes['居民7']}").text

    assert MASKED in record and NUMBER not in record
    assert "显示完整" not in record
    # Community workers call their residents: the phone is whole, and that is noted.
    assert "13800000007" in record
    assert _full_displays(db) == [("worker", "community_worker", "phone", world.codes["居民7"])]


def test_a_community_worker_cannot_reveal_an_id_number(worker, world):
    code = world.codes["居民7"]
    assert worker.get(f"/residents/{code}", params={"show": "id_number"}).status_code == 403
    api = worker.get(f"/api/v1/residents/{code}", params={"show": "id_number"})
    assert api.status_code == 403


def test_a_health_officer_reveals_an_id_number_and_the_reveal_is_logged(officer, world, db):
    code = world.codes["居民7"]
    masked = officer.get(f"/residents/{code}").text
    assert MASKED in masked and NUMBER not in masked
    assert 'href="?show=id_number"' in masked and "显示完整" in masked
    assert ("officer", "health_officer", "id_number", code) not in _full_displays(db)

    revealed = officer.get(f"/residents/{code}", params={"show": "id_number"}).text

    assert NUMBER in revealed
    assert ("officer", "health_officer", "id_number", code) in _full_displays(db)


def test_the_api_masks_lists_and_reveals_only_on_request_to_allowed_roles(officer, world, db):
    page = officer.get("/api/v1/residents", params={"phone": "0007"}).json()
    [item] = page["items"]
    assert (item["id_number"], item["phone"]) == (MASKED, "138****0007")
    assert _full_displays(db) == []

    code = world.codes["居民7"]
    assert officer.get(f"/api/v1/residents/{code}").json()["id_number"] == MASKED
    full = officer.get(f"/api/v1/residents/{code}", params={"show": "id_number"}).json()

    assert full["id_number"] == NUMBER
    assert [d for d in _full_displays(db) if d[2] == "id_number"] == [
        ("officer", "health_officer", "id_number", code)
    ]


def test_a_sampler_sees_phones_and_id_numbers_masked(client, world):
    sign_in(client, "sampler")
    record = client.get(f"/residents/{world.codes['居民7']}")
    if record.status_code == 200:  # samplers without a jurisdiction may see nothing at all
        assert NUMBER not in record.text and "13800000007" not in record.text
    api = client.get(f"/api/v1/residents/{world.codes['居民7']}")
    if api.status_code == 200:
        assert api.json()["phone"] == "138****0007"
