"""Courier pick-ups with a site's PIN, delivery at the lab, the lab's boxes and results file.

Everything goes through `POST /api/v1/capture/events` and the field device API under real
device tokens: a site pad, a courier, the round's lab and a second lab of the round.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import segno
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.factories.events import Device
from tests.factories.screening import build_round_with_live_tokens
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.rules import resident_code
from tongxin.screening.ledger import PIN_KEPT_AS, rebuild_projections
from tongxin.screening.models import Box, Event, Tube
from tongxin.screening.setup import add_lab, add_site, issue_device_token, set_site_pin

CAPTURE = "/api/v1/capture/events"
CODES = [resident_code(10_000 + i) for i in range(30)]


@dataclass
class Field:
    """The round's devices: tokens, the site's PIN, the stations and tubes."""

    pad: str
    courier: str
    lab: str
    lab2: str
    pin: str
    station: str
    tubes: list[str]


@pytest.fixture
def field(db: Engine) -> Field:
    """The factory round with a site PIN, a courier, a second lab and a site without PIN."""
    now = datetime.now(UTC)
    with session_scope(make_sessionmaker(db)) as s:
        r = build_round_with_live_tokens(s)
        pin = set_site_pin(s, site=r.site)
        courier, _ = issue_device_token(s, round=r.round, device="courier-1", now=now, courier=True)
        lab2 = add_lab(s, code="LAB2", name="迪安检测", round=r.round)
        lab2_token, _ = issue_device_token(s, round=r.round, device="lab-2", now=now, lab=lab2)
        add_site(
            s,
            round=r.round,
            code="S2",
            name="尖山社区广场",
            area=r.tree.other_community,
            stations=1,
        )
        return Field(
            r.site_token, courier, r.lab_token, lab2_token, pin, r.stations[0].code, r.tubes10
        )


def send(client: TestClient, token: str, *events: dict) -> list[dict]:
    answer = client.post(CAPTURE, json=list(events), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def get(client: TestClient, token: str, url: str):
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def pick_up(courier: Device, boxes: list[str], pin: str | None, site: str = "S1", **extra) -> dict:
    return courier.event(
        "handover",
        boxes=boxes,
        **{"from": site, "to": extra.pop("to", courier.name)},
        confirmations=["from", "to"],
        **({"pin": pin} if pin is not None else {}),
    )


def deliver(lab: Device, boxes: list[str], courier: str = "courier-1", to: str = "LAB1") -> dict:
    return lab.event(
        "handover", boxes=boxes, **{"from": courier, "to": to}, confirmations=["from", "to"]
    )


def sealed_box(client: TestClient, field: Field, box: str = "B1", tube: int = 0) -> None:
    """Swab 10 people into a 10:1 tube (it closes itself) and seal it into a box."""
    pad = Device("pad-1")
    barcode = field.tubes[tube]
    events = [pad.swab(field.station, barcode, CODES[10 * tube + i]) for i in range(10)]
    sealed = pad.event("box_sealed", box=box, tubes=[barcode], count=1, seal=f"SEAL-{box}")
    answers = send(client, field.pad, *events, {**sealed, "station": field.station})
    assert [a["status"] for a in answers] == ["accepted"] * 11, answers


def box_state(db: Engine, code: str) -> str:
    with db.connect() as c:
        return c.scalar(select(Box.state).where(Box.code == code))


def test_a_pick_up_counts_the_sites_confirmation_only_with_its_pin(client, field, db):
    sealed_box(client, field)
    courier = Device("courier-1")
    wrong = "000000" if field.pin != "000000" else "111111"

    refused = send(client, field.courier, pick_up(courier, ["B1"], wrong))[0]
    no_pin = send(client, field.courier, pick_up(courier, ["B1"], None))[0]
    assert box_state(db, "B1") == "sealed"
    taken = send(client, field.courier, pick_up(courier, ["B1"], field.pin))[0]

    assert refused["status"] == "rejected" and refused["code"] == "handover_pin_wrong"
    assert (
        "交接密码错误" in refused["message"]
        and "wrong or missing handover PIN" in (refused["message_en"])
    )
    assert no_pin["code"] == "handover_pin_wrong"
    assert taken["status"] == "accepted"
    assert box_state(db, "B1") == "handed_over"
    with db.connect() as c:
        payloads = c.scalars(select(Event.payload).where(Event.type == "handover")).all()
    # Kept, as every rejected event, but never with the PIN typed.
    assert len(payloads) == 3
    assert all(p.get("pin", PIN_KEPT_AS) == PIN_KEPT_AS for p in payloads)
    assert all(field.pin not in str(p) and wrong not in str(p) for p in payloads)


def test_a_courier_may_only_take_a_sites_own_boxes_into_its_own_custody(client, field):
    sealed_box(client, field)
    courier = Device("courier-1")

    to_other = send(client, field.courier, pick_up(courier, ["B1"], field.pin, to="courier-2"))
    from_nowhere = send(client, field.courier, pick_up(courier, ["B1"], field.pin, site="S9"))
    without_pin = send(client, field.courier, pick_up(courier, ["B1"], "123456", site="S2"))
    wrong_site = send(client, field.courier, pick_up(courier, ["B1"], field.pin, site="S1"))
    again = send(client, field.courier, pick_up(courier, ["B1"], field.pin, site="S1"))
    receipt = send(client, field.courier, courier.event("box_received", box="B1", lab="LAB1"))

    assert to_other[0]["code"] == "scope_denied"
    assert from_nowhere[0]["code"] == "handover_party_unknown"
    assert without_pin[0]["code"] == "handover_pin_unset"
    assert wrong_site[0]["status"] == "accepted"
    # The courier now holds B1: the site cannot hand it over a second time.
    assert again[0]["code"] == "handover_not_holder"
    assert "courier-1" in again[0]["message_en"]
    assert receipt[0]["code"] == "scope_denied"


def test_the_lab_records_the_delivery_from_the_courier_then_the_receipt(client, field, db):
    sealed_box(client, field)
    send(client, field.courier, pick_up(Device("courier-1"), ["B1"], field.pin))
    lab = Device("lab-1")

    unknown = send(client, field.lab, deliver(lab, ["B1"], courier="courier-9"))
    other_lab = send(client, field.lab, deliver(lab, ["B1"], to="LAB2"))
    delivered = send(client, field.lab, deliver(lab, ["B1"]))
    received = send(
        client, field.lab, lab.event("box_received", box="B1", lab="LAB1", conditions={})
    )

    assert unknown[0]["code"] == "handover_party_unknown"
    assert other_lab[0]["code"] == "scope_denied"
    assert delivered[0]["status"] == "accepted" and received[0]["status"] == "accepted"
    assert box_state(db, "B1") == "received"


def test_a_site_token_cannot_deliver_receive_or_read_the_labs_boxes(client, field):
    sealed_box(client, field)
    send(client, field.courier, pick_up(Device("courier-1"), ["B1"], field.pin))
    pad = Device("pad-1")

    receipt = send(client, field.pad, pad.event("box_received", box="B1", lab="LAB1"))
    boxes = get(client, field.pad, "/api/v1/field/lab/boxes")
    upload = client.post(
        "/api/v1/field/lab/results",
        files={"file": ("r.csv", b"tube,result\nT1,negative\n", "text/csv")},
        headers={"Authorization": f"Bearer {field.pad}"},
    )
    badge = get(client, field.pad, "/api/v1/field/courier/badge.svg")

    assert receipt[0]["code"] == "scope_denied"
    assert boxes.status_code == 403 and upload.status_code == 403 and badge.status_code == 403


def test_the_lab_sees_its_boxes_expected_and_missing_tubes_and_another_lab_does_not(
    client, field, db
):
    sealed_box(client, field, "B1", tube=0)
    sealed_box(client, field, "B2", tube=1)
    courier = Device("courier-1")
    send(client, field.courier, pick_up(courier, ["B1", "B2"], field.pin))
    lab = Device("lab-1")
    send(client, field.lab, deliver(lab, ["B1", "B2"]))
    missing = field.tubes[1]
    send(
        client,
        field.lab,
        lab.event("box_received", box="B2", lab="LAB1", conditions={missing: "missing"}),
    )

    mine = get(client, field.lab, "/api/v1/field/lab/boxes").json()
    theirs = get(client, field.lab2, "/api/v1/field/lab/boxes").json()
    stolen = send(client, field.lab2, Device("lab-2").event("box_received", box="B1", lab="LAB2"))

    assert mine["lab"] == "LAB1"
    by_box = {b["box"]: b for b in mine["boxes"]}
    assert set(by_box) == {"B1", "B2"}
    assert by_box["B1"]["state"] == "handed_over" and by_box["B1"]["from"] == "courier-1"
    assert [t["barcode"] for t in by_box["B1"]["tubes"]] == [field.tubes[0]]
    assert by_box["B2"]["state"] == "received" and by_box["B2"]["missing"] == [missing]
    assert by_box["B2"]["expected"] == 1
    assert theirs["boxes"] == []
    assert stolen[0]["code"] == "handover_not_holder"
    assert box_state(db, "B1") == "handed_over"


def test_the_lab_uploads_a_results_file_and_another_labs_upload_is_refused_per_row(
    client, field, db
):
    sealed_box(client, field)
    send(client, field.courier, pick_up(Device("courier-1"), ["B1"], field.pin))
    lab = Device("lab-1")
    send(client, field.lab, deliver(lab, ["B1"]), lab.event("box_received", box="B1", lab="LAB1"))
    tube = field.tubes[0]
    sheet = f"管码,结果,CT值\n{tube},阴性,\nT-NOPE,阴性,\n{field.tubes[5]},紫色,\n".encode()

    def upload(token: str, data: bytes, name: str = "结果.csv"):
        return client.post(
            "/api/v1/field/lab/results",
            files={"file": (name, data, "text/csv")},
            headers={"Authorization": f"Bearer {token}"},
        )

    other = upload(field.lab2, f"tube,result\n{tube},positive\n".encode()).json()
    mine = upload(field.lab, sheet)
    broken = upload(field.lab, b"nothing,here\n1,2\n")

    assert other["accepted"] == 0 and other["rejections"][0]["code"] == "result_wrong_lab"
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["accepted"] == 1 and body["file"] == "结果.csv"
    assert [r["row"] for r in body["rejections"]] == [3]
    assert [p["row"] for p in body["problems"]] == [4]
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "column_missing"
    with db.connect() as c:
        assert c.scalar(select(Tube.result).where(Tube.barcode == tube)) == "negative"


def test_the_courier_sees_its_boxes_and_its_code_as_a_qr(client, field):
    sealed_box(client, field, "B1", tube=0)
    sealed_box(client, field, "B2", tube=1)
    courier = Device("courier-1")
    send(client, field.courier, pick_up(courier, ["B1", "B2"], field.pin))
    send(client, field.lab, deliver(Device("lab-1"), ["B2"]))

    held = get(client, field.courier, "/api/v1/field/courier/boxes").json()
    badge = get(client, field.courier, "/api/v1/field/courier/badge.svg")
    lab_asks = get(client, field.lab, "/api/v1/field/courier/boxes")

    assert held["courier"] == "courier-1"
    assert [(b["box"], b["from"], b["tubes"]) for b in held["boxes"]] == [("B1", "S1", 1)]
    assert badge.status_code == 200 and badge.headers["content-type"] == "image/svg+xml"
    expected = io.BytesIO()
    segno.make_qr("courier-1", error="m").save(
        expected, kind="svg", scale=1, border=2, omitsize=True, xmldecl=False
    )
    assert badge.content == expected.getvalue()
    assert lab_asks.status_code == 403


def test_rebuilding_the_round_gives_the_same_custody_after_courier_and_lab(client, field, db):
    sealed_box(client, field)
    courier = Device("courier-1")
    send(
        client, field.courier, pick_up(courier, ["B1"], "999999" if field.pin != "999999" else "1")
    )
    send(client, field.courier, pick_up(courier, ["B1"], field.pin))
    lab = Device("lab-1")
    send(client, field.lab, deliver(lab, ["B1"]), lab.event("box_received", box="B1", lab="LAB1"))

    def custody() -> list[tuple]:
        with db.connect() as c:
            return c.execute(
                select(Box.code, Box.state, Box.handed_over_at, Box.lab_id, Box.received_at)
            ).all()

    before = custody()
    with session_scope(make_sessionmaker(db)) as s:
        round_id = s.scalar(select(Box.round_id))
        report = rebuild_projections(s, round_id=round_id)

    assert custody() == before and before[0][1] == "received"
    assert report.divergent == []
