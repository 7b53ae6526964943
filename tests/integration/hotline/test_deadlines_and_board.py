"""Deadlines with an injected clock, escalation to a fake robot webhook, the board, statistics."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.factories.hotline import DEADLINES, T0, build_hotline, call
from tests.factories.registry import add_residents, build_tree
from tests.integration.hotline.test_cases import _user
from tongxin.hotline import board, service
from tongxin.hotline.deadlines import escalate_overdue
from tongxin.hotline.exports import write_statistics
from tongxin.hotline.notify import NoNotifier, WebhookNotifier
from tongxin.hotline.rules import Action, CaseState, Category
from tongxin.registry.queries import Scope


class FakeRobot:
    """A local HTTP server answering like a WeChat Work group robot; keeps what it got."""

    def __init__(self, errcode: int = 0) -> None:
        self.received: list[dict] = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                robot.received.append(json.loads(body))
                answer = json.dumps({"errcode": errcode, "errmsg": "ok" if not errcode else "bad"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cgi-bin/webhook/send?key=test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeRobot:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def robot() -> Iterator[FakeRobot]:
    with FakeRobot() as running:
        yield running


@pytest.fixture
def operator(session: Session):
    tree = build_tree(session)
    add_residents(session, tree.household, 3)
    user = _user(session, "op", area=tree.street)
    build_hotline(session, tree.street, [user])
    return user


def test_an_overdue_case_is_escalated_once_and_the_supervisors_are_notified(
    session, operator, robot
):
    critical = call(session, operator, description="老人突然晕倒了,叫不醒").case
    normal = call(session, operator, phone="13900000002", description="楼道的灯坏了").case
    notifier = WebhookNotifier(robot.url)

    before = escalate_overdue(session, now=T0 + timedelta(hours=2), notifier=notifier)
    assert before.cases == [] and robot.received == []

    late = T0 + timedelta(hours=2, minutes=1)
    done = escalate_overdue(session, now=late, notifier=notifier)
    assert done.cases == [critical.code] and done.notified
    assert critical.escalated_at == late and normal.escalated_at is None
    [message] = robot.received
    assert message["msgtype"] == "text"
    assert critical.code in message["text"]["content"]
    assert service.timeline(session, critical)[-1].kind == "escalated"

    again = escalate_overdue(session, now=late + timedelta(hours=1), notifier=notifier)
    assert again.cases == [] and len(robot.received) == 1


def test_a_resolved_case_is_never_escalated(session, operator, robot):
    case = call(session, operator, description="老人突然晕倒了,叫不醒").case
    service.act(session, case=case, action=Action.RESOLVE, by="op", now=T0, deadlines=DEADLINES)
    done = escalate_overdue(
        session, now=T0 + timedelta(days=3), notifier=WebhookNotifier(robot.url)
    )
    assert done.cases == [] and robot.received == []


def test_a_refused_notification_is_written_on_the_case_and_the_escalation_stands(session, operator):
    case = call(session, operator, description="老人突然晕倒了,叫不醒").case
    with FakeRobot(errcode=93000) as refusing:
        done = escalate_overdue(
            session, now=T0 + timedelta(hours=3), notifier=WebhookNotifier(refusing.url)
        )
    assert done.cases == [case.code] and not done.notified and "refused" in (done.error or "")
    assert [e.kind for e in service.timeline(session, case)][-2:] == ["escalated", "notify_failed"]


def test_the_board_shows_open_cases_overdue_first_and_filters(session, operator):
    critical = call(session, operator, description="老人突然晕倒了,叫不醒").case  # due +2h
    urgent = call(session, operator, phone="13900000002", description="孩子发烧39度需要去医院").case
    normal = call(session, operator, phone="13900000003", description="楼道的灯坏了").case
    done = call(session, operator, phone="13900000004", description="小区封控买不到菜").case
    service.act(session, case=done, action=Action.RESOLVE, by="op", now=T0, deadlines=DEADLINES)
    now = T0 + timedelta(hours=13)  # critical and urgent are overdue
    page = board.board(
        session, scope=Scope.everything(), user_id=None, filters=board.BoardFilters(), now=now
    )
    assert [c.code for c in page.cases] == [critical.code, urgent.code, normal.code]
    assert page.overdue == 2
    assert page.counts == {"assigned": 3}
    only_daily = board.board(
        session,
        scope=Scope.everything(),
        user_id=None,
        filters=board.BoardFilters(category=Category.DAILY),
        now=now,
    )
    assert [c.code for c in only_daily.cases] == [normal.code]
    resolved = board.board(
        session,
        scope=Scope.everything(),
        user_id=None,
        filters=board.BoardFilters(state=CaseState.RESOLVED),
        now=now,
    )
    assert [c.code for c in resolved.cases] == [done.code]


def test_board_pages_follow_each_other_without_gaps(session, operator):
    codes = [
        call(
            session,
            operator,
            phone=f"1390000{i:04d}",
            description="楼道的灯坏了",
            now=T0 + timedelta(minutes=i),
        ).case.code
        for i in range(5)
    ]
    seen, after = [], None
    while True:
        page = board.board(
            session,
            scope=Scope.everything(),
            user_id=None,
            filters=board.BoardFilters(after=after),
            now=T0,
            limit=2,
        )
        seen += [c.code for c in page.cases]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == codes


def test_statistics_count_received_resolved_median_and_overdue(session, operator):
    first = call(session, operator, description="老人突然晕倒了,叫不醒").case
    second = call(session, operator, phone="13900000002", description="楼道的灯坏了").case
    call(session, operator, phone="13900000003", description="小区封控买不到菜")
    steps = dict(session=session, by="op", deadlines=DEADLINES)
    service.act(**steps, case=first, action=Action.RESOLVE, now=T0 + timedelta(hours=3))
    service.act(**steps, case=second, action=Action.RESOLVE, now=T0 + timedelta(hours=1))
    figures = board.statistics(
        session,
        scope=Scope.everything(),
        user_id=None,
        start=T0 - timedelta(days=1),
        end=T0 + timedelta(days=1),
        now=T0 + timedelta(hours=20),
    )
    total = figures.total
    assert (total.received, total.resolved, total.median_hours) == (3, 2, 2.0)
    # The critical case was resolved after its 2 h; the supplies case is 8 h past its 12 h.
    assert total.overdue == 2
    assert {r.key: r.received for r in figures.by_category} == {
        "medical": 1,
        "daily": 1,
        "supplies": 1,
    }
    out = io.BytesIO()
    write_statistics(figures, out, by="sup", at=T0)
    book = load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["按热线", "按类别", "按区域", "按日期"]
    rows = list(book["按类别"].iter_rows(values_only=True))
    assert rows[0][0] == "分组" and rows[-1][:3] == ("合计", 3, 2)


def test_no_webhook_configured_means_the_board_only(session, operator):
    call(session, operator, description="老人突然晕倒了,叫不醒")
    done = escalate_overdue(session, now=T0 + timedelta(hours=3), notifier=NoNotifier())
    assert len(done.cases) == 1 and done.notified
