"""POST /api/v1/results (JSON) and /api/v1/results/hl7 with lab device tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import hl7
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.integration.screening.lab_round import LabRound, build_lab_round
from tongxin.db import make_sessionmaker, session_scope
from tongxin.screening.models import Event, Tube
from tongxin.screening.setup import issue_device_token
from tongxin.web.app import create_app

URL = "/api/v1/results"


@pytest.fixture
def lab(db) -> tuple[LabRound, dict[str, str]]:
    """The lab round committed, with live tokens for LAB1 and for a sampling site."""
    with session_scope(make_sessionmaker(db)) as s:
        lab = build_lab_round(s)
        now = datetime.now(UTC)
        rnd = lab.setup.round
        site = lab.setup.site
        tokens = {
            "lab": issue_device_token(s, round=rnd, device="lis-1", now=now, lab=lab.setup.lab),
            "site": issue_device_token(s, round=rnd, device="pad-9", now=now, site=site),
        }
        return lab, {name: token for name, (token, _row) in tokens.items()}


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, engine=db)) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stored_results(db) -> dict[str, str]:
    with session_scope(make_sessionmaker(db)) as s:
        rows = s.execute(select(Tube.barcode, Tube.result).where(Tube.result.is_not(None)))
        return dict(rows.tuples().all())


def test_a_lab_posts_results_and_gets_an_answer_per_result_in_order(client, lab, db):
    rnd, tokens = lab
    t1, t2, _single = rnd.received
    body = {
        "results": [
            {"tube": t1, "result": "negative"},
            {"tube": "T99999999990", "result": "negative"},
            {"tube": t2, "result": "阳性", "ct": 26.0, "at": "2022-09-23T12:00:00+08:00"},
            {"tube": t2, "result": "maybe"},
        ]
    }
    response = client.post(URL, json=body, headers=bearer(tokens["lab"]))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["accepted"], answer["duplicate"], answer["rejected"], answer["invalid"]) == (
        2, 0, 1, 1,
    )  # fmt: skip
    assert [(r["row"], r["status"], r["code"]) for r in answer["results"]] == [
        (1, "accepted", None),
        (2, "rejected", "result_tube_unknown"),
        (3, "accepted", None),
        (4, "invalid", "result_word"),
    ]
    assert stored_results(db) == {t1: "negative", t2: "positive"}
    again = client.post(URL, json=body, headers=bearer(tokens["lab"])).json()
    assert [r["status"] for r in again["results"]] == [
        "duplicate", "duplicate", "duplicate", "invalid",
    ]  # fmt: skip
    with session_scope(make_sessionmaker(db)) as s:
        devices = set(s.scalars(select(Event.device).where(Event.type == "result_reported")))
    assert devices == {"lis-1"}


def test_results_need_a_live_lab_token(client, lab, db):
    rnd, tokens = lab
    body = {"results": [{"tube": rnd.received[0], "result": "negative"}]}
    assert client.post(URL, json=body).status_code == 401
    assert client.post(URL, json=body, headers=bearer("txd_nope")).status_code == 401
    assert client.post(URL, json=body, headers=bearer(tokens["site"])).status_code == 403
    assert stored_results(db) == {}


def test_a_malformed_body_is_refused_whole(client, lab):
    _rnd, tokens = lab
    for body in ({"results": []}, {"results": [{"tube": "T1"}]}, {"rows": []}):
        assert client.post(URL, json=body, headers=bearer(tokens["lab"])).status_code == 422


def test_hl7_messages_are_answered_with_acks(client, lab, db):
    rnd, tokens = lab
    t1, _t2, _single = rnd.received
    text = "\r".join(
        [
            "MSH|^~\\&|LIS|LAB1|TONGXIN|CDC|20220923103000+0800||ORU^R01|M42|P|2.5.1",
            f"OBR|1||{t1}|94500-6^SARS-CoV-2 RNA^LN",
            "OBX|1|CWE|94500-6^SARS-CoV-2 RNA^LN||260385009^Negative^SCT||||||F",
            "MSH|^~\\&|LIS|LAB1|TONGXIN|CDC|20220923103000+0800||ADT^A01|M43|P|2.5.1",
        ]
    )
    response = client.post(
        URL + "/hl7", content=text.encode(), headers={**bearer(tokens["lab"]),
                                                      "Content-Type": "application/hl7-v2"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/hl7-v2")
    acks = [hl7.parse(a) for a in response.text.strip().split("\r\n")]
    msa = [(str(a.extract_field("MSA", 1, 1)), str(a.extract_field("MSA", 1, 2))) for a in acks]
    assert msa == [("AA", "M42"), ("AR", "M43")]
    assert stored_results(db) == {t1: "negative"}
    assert (
        client.post(URL + "/hl7", content=b"hello", headers=bearer(tokens["lab"])).status_code
        == 422
    )
