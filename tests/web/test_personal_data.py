"""Personal details on screens: masked unless the role needs them, and every full value noted."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.factories.registry import resident_id
from tests.web.conftest import World, add_user, sign_in
from tongxin.accounts.rules import Role
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


def _full_displays(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tongxin.privacy.display"]


def test_a_community_worker_sees_masked_id_numbers_in_lists_and_on_the_record(
    worker, world, caplog
):
    caplog.set_level(logging.INFO, logger="tongxin.privacy.display")
    listed = worker.get("/residents", params={"phone": "0007"}).text
    assert MASKED in listed and NUMBER not in listed

    record = worker.get(f"/residents/{world.codes['居民7']}").text

    assert MASKED in record and NUMBER not in record
    assert "显示完整" not in record
    # Community workers call their residents: the phone is whole, and that is noted.
    assert "13800000007" in record
    assert _full_displays(caplog) == [
        f"full display: worker (community_worker) saw phone of resident {world.codes['居民7']}"
        " from testclient"
    ]


def test_a_community_worker_cannot_reveal_an_id_number(worker, world):
    code = world.codes["居民7"]
    assert worker.get(f"/residents/{code}", params={"show": "id_number"}).status_code == 403
    api = worker.get(f"/api/v1/residents/{code}", params={"show": "id_number"})
    assert api.status_code == 403


def test_a_health_officer_reveals_an_id_number_and_the_reveal_is_logged(officer, world, caplog):
    caplog.set_level(logging.INFO, logger="tongxin.privacy.display")
    code = world.codes["居民7"]
    masked = officer.get(f"/residents/{code}").text
    assert MASKED in masked and NUMBER not in masked
    assert 'href="?show=id_number"' in masked and "显示完整" in masked
    caplog.clear()

    revealed = officer.get(f"/residents/{code}", params={"show": "id_number"}).text

    assert NUMBER in revealed
    assert (
        f"full display: officer (health_officer) saw id_number of resident {code} from testclient"
        in _full_displays(caplog)
    )


def test_the_api_masks_lists_and_reveals_only_on_request_to_allowed_roles(officer, world, caplog):
    caplog.set_level(logging.INFO, logger="tongxin.privacy.display")
    page = officer.get("/api/v1/residents", params={"phone": "0007"}).json()
    [item] = page["items"]
    assert (item["id_number"], item["phone"]) == (MASKED, "138****0007")
    assert _full_displays(caplog) == []

    code = world.codes["居民7"]
    assert officer.get(f"/api/v1/residents/{code}").json()["id_number"] == MASKED
    full = officer.get(f"/api/v1/residents/{code}", params={"show": "id_number"}).json()

    assert full["id_number"] == NUMBER
    assert any("saw id_number" in m for m in _full_displays(caplog))


def test_a_sampler_sees_phones_and_id_numbers_masked(client, world):
    sign_in(client, "sampler")
    record = client.get(f"/residents/{world.codes['居民7']}")
    if record.status_code == 200:  # samplers without a jurisdiction may see nothing at all
        assert NUMBER not in record.text and "13800000007" not in record.text
    api = client.get(f"/api/v1/residents/{world.codes['居民7']}")
    if api.status_code == 200:
        assert api.json()["phone"] == "138****0007"
