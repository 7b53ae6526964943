"""Screening pages: rounds, overview, site, search, mismatches, rejected queue, recall board."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.screening.custody import (
    T0,
)
from tests.web.conftest import post_form, sign_in
from tongxin.audit.models import AuditEntry
from tongxin.db import make_sessionmaker, session_scope
from tongxin.screening.models import Event, Recall


def test_rounds_list_and_nav_link(client, staged):
    sign_in(client, "admin")
    page = client.get("/rounds")
    assert page.status_code == 200
    assert 'href="/rounds"' in page.text
    assert "第一轮全员核酸" in page.text and 'href="/rounds/R1"' in page.text


def test_overview_shows_each_stage_against_the_deadline(client, staged):
    sign_in(client, "admin")
    page = client.get("/rounds/R1")
    assert page.status_code == 200
    text = page.text
    for label in ("采样", "封管", "装箱", "交接", "实验室接收", "出结果"):
        assert label in text
    assert 'data-stage="sampled"' in text
    # 33 sampled of 33 present target residents; 2 boxes sealed, 2 handed over, 1 received.
    assert "33" in text
    assert "已超时" in text  # the staged round's deadline was in 2022
    assert 'href="/rounds/R1/sites/S1"' in text


def test_site_view_lists_stations_and_boxes(client, staged):
    sign_in(client, "admin")
    page = client.get("/rounds/R1/sites/S1")
    assert page.status_code == 200
    assert "R1-S1-1" in page.text and "R1-S1-2" in page.text
    assert "B1" in page.text and "B9" in page.text
    assert client.get("/rounds/R1/sites/NOPE").status_code == 404


def test_tube_search_shows_the_chain_with_masked_members(client, staged):
    sign_in(client, "admin")
    page = client.get("/rounds/R1/search", params={"q": staged["positive"]})
    assert page.status_code == 200
    assert 'data-kind="tube"' in page.text
    assert "居***" in page.text  # 居民10 masked
    assert "居民10" not in page.text
    assert "B1" in page.text and "courier-7" in page.text and "LAB1" in page.text
    assert "阳性" in page.text


def test_box_search_lists_its_tubes_and_unknown_codes_are_404(client, staged):
    sign_in(client, "admin")
    page = client.get("/rounds/R1/search", params={"q": "B9"})
    assert 'data-kind="box"' in page.text
    assert staged["tubes10"][5] in page.text
    assert "未接收" in page.text
    missing = client.get("/rounds/R1/search", params={"q": "T9999999999"})
    assert missing.status_code == 404
    assert "T9999999999" in missing.text


def test_mismatch_page_names_the_stuck_box_and_the_rejected_event(client, staged):
    sign_in(client, "admin")
    page = client.get("/rounds/R1/mismatches")
    assert page.status_code == 200
    assert 'data-code="box_not_received"' in page.text
    assert 'data-code="rejected_event"' in page.text
    assert f"#e-{staged['event']}" in page.text


def test_resolving_a_rejected_event_keeps_it_and_empties_the_queue(client, staged, db):
    sign_in(client, "admin")
    queue = client.get("/rounds/R1/rejected")
    assert 'data-code="tube_full"' in queue.text
    done = post_form(
        client,
        f"/rounds/R1/rejected/{staged['event']}/resolve",
        data={"resolution": "第11人已改用新管"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert 'data-testid="queue-empty"' in after.text
    with session_scope(make_sessionmaker(db)) as s:
        event = s.scalar(select(Event).where(Event.id == staged["event"]))
        assert (event.status, event.resolved_by, event.resolution) == (
            "rejected",
            "admin",
            "第11人已改用新管",
        )


def test_a_community_worker_may_not_resolve_rejected_events(client, staged):
    sign_in(client, "worker")
    queue = client.get("/rounds/R1/rejected")
    assert "<form" not in queue.text.split("<main")[1]
    denied = post_form(
        client, f"/rounds/R1/rejected/{staged['event']}/resolve", data={"resolution": "x"}
    )
    assert denied.status_code == 403


def test_resubmitting_a_rejected_event_resolves_it_and_queues_a_new_decision(client, staged, db):
    sign_in(client, "worker")
    denied = post_form(client, f"/rounds/R1/rejected/{staged['event']}/resubmit")
    assert denied.status_code == 403
    sign_in(client, "admin")
    done = post_form(
        client, f"/rounds/R1/rejected/{staged['event']}/resubmit", follow_redirects=False
    )
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    # The stored payload is still incomplete, so the new decision rejects it again.
    assert 'data-testid="resubmitted"' in page.text and "malformed" in page.text
    assert f'id="e-{staged["event"]}"' not in page.text
    with session_scope(make_sessionmaker(db)) as s:
        original = s.scalar(select(Event).where(Event.id == staged["event"]))
        assert original.status == "rejected" and original.resolved_by == "admin"
        newer = s.scalars(select(Event).where(Event.resolved_at.is_(None))).all()
        assert [e.code for e in newer if e.status == "rejected"] == ["malformed"]


def test_recall_board_lists_each_member_with_address_phone_and_overdue_flag(client, staged):
    sign_in(client, "worker")
    page = client.get("/rounds/R1/recalls")
    assert page.status_code == 200
    assert page.text.count('data-state="open"') == 10
    for name in staged["positive_names"]:
        assert name in page.text
    assert "1栋 1单元 101" in page.text
    assert "13800000010" in page.text
    assert page.text.count("row-overdue") == 10  # due 24 h after a 2022 result


def test_the_recall_board_masks_phones_for_roles_that_do_not_call_people(client, staged, db):
    def noted() -> list[tuple[str, str, int]]:
        with session_scope(make_sessionmaker(db)) as s:
            entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "pii.full_display"))
            return [
                (e.actor, e.summary["after"]["detail"], e.summary["after"]["count"])
                for e in entries
            ]

    sign_in(client, "admin")
    page = client.get("/rounds/R1/recalls").text
    assert "138****0010" in page and "13800000010" not in page
    assert noted() == []

    sign_in(client, "worker")
    client.get("/rounds/R1/recalls")
    [(who, detail, count)] = noted()
    assert (who, detail) == ("worker", "phone") and count > 0


def test_a_recall_step_goes_through_the_ledger_as_a_web_device(client, staged, db):
    sign_in(client, "worker")
    moved = post_form(
        client,
        "/rounds/R1/recalls/step",
        data={"tube": staged["positive"], "position": 3, "type": "recall_notified"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert "problem" not in moved.headers["location"]
    with session_scope(make_sessionmaker(db)) as s:
        states = sorted(s.scalars(select(Recall.state)))
        assert states.count("notified") == 1
        event = s.scalar(select(Event).where(Event.type == "recall_notified"))
        assert (event.device, event.status) == ("web:worker", "accepted")


def test_a_refused_recall_step_is_shown_and_kept_as_rejected(client, staged, db):
    sign_in(client, "worker")
    moved = post_form(
        client,
        "/rounds/R1/recalls/step",
        data={"tube": staged["positive"], "position": 3, "type": "recall_closed"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert "problem=" in moved.headers["location"]
    with session_scope(make_sessionmaker(db)) as s:
        event = s.scalar(select(Event).where(Event.type == "recall_closed"))
        assert event.status == "rejected"


def test_recalls_outside_the_jurisdiction_are_not_shown(client, staged):
    sign_in(client, "other")
    page = client.get("/rounds/R1/recalls")
    assert 'data-testid="board-empty"' in page.text


def test_roles_without_screening_access_are_refused_rounds(client, staged):
    sign_in(client, "nobody")
    assert client.get("/rounds").status_code == 403
    assert client.get("/rounds/R1").status_code == 403


def test_pages_speak_english_when_chosen(client, staged):
    sign_in(client, "admin")
    page = client.get("/rounds/R1/recalls", params={"lang": "en"})
    assert "Recall board" in page.text


def test_flagged_accepted_events_wait_in_the_queue_until_checked(client, staged, db):
    with session_scope(make_sessionmaker(db)) as s:
        flagged = s.scalar(select(Event).where(Event.id == staged["event"]))
        copy = Event(
            id="dup-1",
            device="pad-2",
            seq=9,
            type="swab_taken",
            round_id=flagged.round_id,
            district_id=flagged.district_id,
            at=T0,
            received_at=T0,
            status="accepted",
            flag="duplicate_person",
            payload={"type": "swab_taken", "tube": staged["tubes10"][2]},
        )
        s.add(copy)
    sign_in(client, "admin")
    queue = client.get("/rounds/R1/rejected")
    flagged_table = queue.text.split('data-testid="flagged"')[1]
    assert 'id="e-dup-1"' in flagged_table and "重复采样" in flagged_table
    done = post_form(
        client, "/rounds/R1/rejected/dup-1/resolve", data={"resolution": "同一人两次排队,已核实"}
    )
    assert done.status_code == 200
    assert 'id="e-dup-1"' not in done.text
