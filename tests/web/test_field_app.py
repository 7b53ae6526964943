"""The field app's routes: the public shell, and the device context behind a device token."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from tests.factories.events import Device
from tests.factories.screening import RoundSetup, build_round_with_live_tokens
from tongxin.db import make_sessionmaker, session_scope
from tongxin.field.pages import shell_files
from tongxin.registry.models import Resident

URL = "/api/v1/field/context"


@pytest.fixture
def rs(db: Engine) -> RoundSetup:
    """The factory round (新星社区 controlled, 30 residents) with tokens issued now."""
    with session_scope(make_sessionmaker(db)) as s:
        return build_round_with_live_tokens(s)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_context_needs_a_live_device_token(client: TestClient, rs: RoundSetup) -> None:
    assert client.get(URL).status_code == 401
    refused = client.get(URL, headers=bearer("txd_not-a-token"))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"


def test_the_context_carries_the_sites_rules_and_masked_names_only(
    client: TestClient, rs: RoundSetup, db: Engine
) -> None:
    with session_scope(make_sessionmaker(db)) as s:
        s.execute(update(Resident).where(Resident.name == "居民3").values(key_group=True))
        people = list(s.execute(select(Resident.id_number, Resident.phone, Resident.name)))
    answer = client.get(URL, headers=bearer(rs.site_token))
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    ctx = answer.json()

    assert ctx["device"] == "pad-1"
    assert ctx["round"]["code"] == "R1"
    assert ctx["round"]["controlled_pool"] == 10
    assert ctx["site"]["code"] == "S1"
    assert ctx["site"]["zone"] == "controlled"
    assert ctx["site"]["walk_in_capacity"] == 10
    assert ctx["site"]["stations"] == [st.code for st in rs.stations]
    assert [(b["first"], b["last"], b["capacity"]) for b in ctx["tube_batches"]] == [
        (rs.tubes10[0], rs.tubes10[-1], 10),
        (rs.tubes1[0], rs.tubes1[-1], 1),
    ]
    assert len(ctx["residents"]) == 30
    assert not ctx["residents_truncated"]
    assert {r["name"] for r in ctx["residents"]} == {"居**", "居***"}
    capacities = sorted(r["capacity"] for r in ctx["residents"])
    assert capacities == [1] + [10] * 29
    # Names masked; no ID number, phone or whole name anywhere in the answer.
    body = answer.text
    for id_number, phone, name in people:
        assert id_number not in body
        assert phone not in body
        assert json.dumps(name, ensure_ascii=False) not in body


def test_the_context_shows_tubes_and_boxes_used_at_the_site(
    client: TestClient, rs: RoundSetup
) -> None:
    pad = Device()
    codes = [r["code"] for r in client.get(URL, headers=bearer(rs.site_token)).json()["residents"]]
    station = rs.stations[0].code
    events = [pad.swab(station, rs.tubes10[0], code) for code in codes[:10]]
    events += [pad.swab(station, rs.tubes10[1], code) for code in codes[10:13]]
    events.append(pad.close(rs.tubes10[1], reason="排队人员已采完"))
    events.append({**pad.seal("B1", rs.tubes10[:2]), "seal": "S-1", "station": station})
    events.append(pad.swab(station, rs.tubes10[2], codes[13]))
    sent = client.post("/api/v1/capture/events", json=events, headers=bearer(rs.site_token))
    assert {r["status"] for r in sent.json()["results"]} == {"accepted"}

    ctx = client.get(URL, headers=bearer(rs.site_token)).json()
    tubes = {t["barcode"]: t for t in ctx["tubes"]}
    assert set(tubes) == set(rs.tubes10[:3])
    assert (tubes[rs.tubes10[0]]["state"], tubes[rs.tubes10[0]]["fill"]) == ("boxed", 10)
    assert tubes[rs.tubes10[1]]["reason"] == "排队人员已采完"
    assert (tubes[rs.tubes10[2]]["state"], tubes[rs.tubes10[2]]["fill"]) == ("open", 1)
    assert ctx["boxes"] == [{"code": "B1", "state": "sealed", "count": 2}]
    sampled = {r["code"] for r in ctx["residents"] if r["sampled"]}
    assert sampled == set(codes[:14])


def test_a_lab_token_gets_its_round_and_lab_without_site_lists(
    client: TestClient, rs: RoundSetup
) -> None:
    ctx = client.get(URL, headers=bearer(rs.lab_token)).json()
    assert ctx["lab"] == "LAB1"
    assert ctx["site"] is None
    assert ctx["residents"] == []
    assert ctx["tubes"] == []


def test_the_shell_page_manifest_and_scripts_are_public(client: TestClient) -> None:
    page = client.get("/field/")
    assert page.status_code == 200
    assert "设备登录" in page.text
    assert 'src="/field/assets/app.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/field", follow_redirects=False).headers["location"] == "/field/"
    manifest = client.get("/field/manifest.webmanifest").json()
    assert (manifest["start_url"], manifest["scope"]) == ("/field/", "/field/")
    script = client.get("/field/assets/queue.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert client.get("/field/assets/nothing.js").status_code == 404
    assert client.get("/field/assets/..%2Fapi.py").status_code == 404


def test_the_service_worker_caches_the_shell_under_a_version(client: TestClient) -> None:
    worker = client.get("/field/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/field/"
    source = worker.text
    assert "__SHELL_VERSION__" not in source
    assert '"/field/", "/field/manifest.webmanifest"' in source
    for name in shell_files():
        assert f'"/field/assets/{name}"' in source
    assert '"/field/assets/sw.js"' not in source
    # The worker itself is only served from /field/ (its scope), not as an asset.
    assert client.get("/field/assets/sw.js").status_code == 404


def test_the_shell_follows_the_chosen_language(client: TestClient) -> None:
    client.get("/lang/en")
    page = client.get("/field/")
    assert '<html lang="en">' in page.text
    assert "Device sign-in" in page.text
