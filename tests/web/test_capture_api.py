"""POST /api/v1/capture/events: device tokens, per-event answers, duplicates on resend."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.factories.events import Device
from tests.factories.screening import RoundSetup, build_round_with_live_tokens
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.rules import resident_code
from tongxin.screening.api import MAX_EVENTS
from tongxin.screening.models import DeviceToken, Event, Tube
from tongxin.screening.setup import issue_device_token

URL = "/api/v1/capture/events"
CODES = [resident_code(10_000 + i) for i in range(30)]


@pytest.fixture
def rs(db: Engine) -> RoundSetup:
    """The factory round, with its tokens issued now (the factory's are from 2022)."""
    with session_scope(make_sessionmaker(db)) as s:
        return build_round_with_live_tokens(s)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def swabs(rs: RoundSetup, n: int, pad: Device | None = None) -> list[dict]:
    pad = pad or Device()
    return [pad.swab(rs.stations[0].code, rs.tubes10[0], CODES[i]) for i in range(n)]


def test_capture_without_a_token_is_401(client: TestClient, rs):
    assert client.post(URL, json=swabs(rs, 1)).status_code == 401
    bad = client.post(URL, json=swabs(rs, 1), headers=bearer("txd_nope"))
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"


def test_an_expired_or_revoked_token_is_401(client: TestClient, rs, db):
    with session_scope(make_sessionmaker(db)) as s:
        old, _ = issue_device_token(
            s,
            round=rs.round,
            device="pad-old",
            now=datetime.now(UTC) - timedelta(days=3),
            site=rs.site,
        )
        revoked, row = issue_device_token(
            s, round=rs.round, device="pad-2", now=datetime.now(UTC), site=rs.site
        )
        row.revoked_at = datetime.now(UTC)
    assert client.post(URL, json=swabs(rs, 1), headers=bearer(old)).status_code == 401
    assert client.post(URL, json=swabs(rs, 1), headers=bearer(revoked)).status_code == 401


def test_capture_answers_each_event_and_resend_is_duplicate(client: TestClient, rs, db):
    events = swabs(rs, 11)
    first = client.post(URL, json=events, headers=bearer(rs.site_token))
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * 10 + ["rejected"]
    assert results[-1]["code"] == "tube_full"
    assert results[-1]["message"] and results[-1]["message_en"]
    assert [r["id"] for r in results] == [e["id"] for e in events]
    again = client.post(URL, json=events, headers=bearer(rs.site_token))
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 11
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 11
        assert s.scalar(select(Tube.member_count).where(Tube.barcode == rs.tubes10[0])) == 10


def test_a_site_token_cannot_report_results_or_use_another_sites_station(client, rs, db):
    lab_event = Device().result(rs.tubes10[0], "negative")
    stranger = Device().swab("R1-S9-1", rs.tubes10[0], CODES[0])
    answer = client.post(URL, json=[lab_event, stranger], headers=bearer(rs.site_token))
    assert [(r["status"], r["code"]) for r in answer.json()["results"]] == [
        ("rejected", "scope_denied"),
        ("rejected", "station_unknown"),
    ]


def test_a_lab_token_cannot_record_swabs(client, rs):
    answer = client.post(URL, json=swabs(rs, 1), headers=bearer(rs.lab_token))
    assert answer.json()["results"][0]["code"] == "scope_denied"


def test_a_batch_over_the_limit_is_413_and_a_non_array_is_422(client, rs):
    too_many = [{"id": str(i)} for i in range(MAX_EVENTS + 1)]
    assert client.post(URL, json=too_many, headers=bearer(rs.site_token)).status_code == 413
    assert client.post(URL, json=3, headers=bearer(rs.site_token)).status_code == 422
    broken = client.post(URL, content=b"[{", headers=bearer(rs.site_token))
    assert broken.status_code == 422


def test_a_malformed_event_in_a_batch_is_answered_rejected_and_stored(client, rs, db):
    good, bad = swabs(rs, 2)
    bad["seq"] = "seventeen"
    answer = client.post(URL, json=[good, bad], headers=bearer(rs.site_token))
    results = answer.json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [
        ("accepted", None),
        ("rejected", "malformed"),
    ]
    assert "seq" in results[1]["message_en"]


def test_a_device_can_ask_what_was_stored_under_an_id(client, rs):
    events = swabs(rs, 11)
    client.post(URL, json=events, headers=bearer(rs.site_token))
    stored = client.get(f"{URL}/{events[-1]['id']}", headers=bearer(rs.site_token))
    assert stored.status_code == 200
    assert (stored.json()["status"], stored.json()["code"]) == ("rejected", "tube_full")
    assert client.get(f"{URL}/nope", headers=bearer(rs.site_token)).status_code == 404
    assert client.get(f"{URL}/{events[0]['id']}").status_code == 401


def test_tokens_are_stored_hashed(rs, db):
    with session_scope(make_sessionmaker(db)) as s:
        hashes = s.scalars(select(DeviceToken.token_hash)).all()
    assert rs.site_token not in hashes and len(hashes) == 2


def test_events_with_text_no_database_can_hold_are_stored_rejected_not_a_server_error(
    client: TestClient, rs, db
):
    pad = Device()
    good = swabs(rs, 1, pad)[0]
    nul = {**swabs(rs, 1, pad)[0], "sampler": "王\u0000"}
    lone = {**swabs(rs, 1, pad)[0], "sampler": "\ud800"}
    body = json.dumps([good, nul, lone]).encode()  # ensure_ascii: \u0000 and \ud800 escapes
    answer = client.post(
        URL,
        content=body,
        headers={**bearer(rs.site_token), "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [
        ("accepted", None),
        ("rejected", "malformed"),
        ("rejected", "malformed"),
    ]
    assert "NUL" in results[1]["message_en"] and "surrogate" in results[2]["message_en"]
    with session_scope(make_sessionmaker(db)) as s:
        kept = s.scalars(select(Event).where(Event.status == "rejected")).all()
    assert len(kept) == 2  # stored for a person to see, never dropped


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_body_with_a_number_json_cannot_hold_is_422_and_changes_nothing(client, rs, db, number):
    good = swabs(rs, 1)[0]
    body = json.dumps([good])[:-2] + f', "ct": {number}}}]'
    answer = client.post(URL, content=body.encode(), headers=bearer(rs.site_token))
    assert answer.status_code == 422
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0
