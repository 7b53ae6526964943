"""Hotline cases on a real database: intake, routing, repeat callers, steps, linked work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.hotline import DEADLINES, T0, build_hotline, call
from tests.factories.registry import Tree, add_residents, build_tree
from tongxin.accounts.models import User
from tongxin.hotline import service
from tongxin.hotline.models import HotlineCase, TimelineEntry
from tongxin.hotline.rules import (
    Action,
    CaseState,
    Category,
    HotlineRuleError,
    LinkedWorkKind,
    LinkedWorkStatus,
)
from tongxin.registry.models import Resident
from tongxin.registry.queries import Scope


def _user(session: Session, username: str, role: str = "hotline_operator", area=None) -> User:
    user = User(
        username=username,
        display_name=username,
        password_hash="x",
        role=role,
        jurisdiction_id=area.id if area is not None else None,
        is_active=True,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def desk(session: Session) -> tuple[Tree, User]:
    tree = build_tree(session)
    add_residents(session, tree.household, 3)
    add_residents(session, tree.other_household, 2, start=100)
    operator = _user(session, "op", area=tree.street)
    build_hotline(session, tree.street, [operator])
    return tree, operator


def _resident(session: Session, name: str) -> Resident:
    found = session.scalar(select(Resident).where(Resident.name == name))
    assert found is not None
    return found


def test_a_call_from_a_registered_resident_is_routed_to_their_community(session, desk):
    tree, operator = desk
    resident = _resident(session, "居民100")
    taken = call(session, operator, resident_code=resident.resident_code, phone=resident.phone)
    case = taken.case
    assert taken.outcome == "created"
    assert case.state == CaseState.ASSIGNED.value
    assert case.responsible_area_id == tree.other_community.id
    assert (case.category, case.urgency) == ("medical", "urgent")
    assert case.due_at == T0 + timedelta(hours=12)
    kinds = [(e.kind, e.state_to) for e in service.timeline(session, case)]
    assert kinds == [("opened", None), ("state", "assigned")]


def test_a_routing_rule_sends_a_category_to_its_desk(session, desk):
    tree, operator = desk
    service.add_route(session, area=tree.street, category=Category.PSYCH, desk="街道心理援助站")
    resident = _resident(session, "居民0")
    case = call(
        session, operator, resident_code=resident.resident_code, description="情绪低落睡不着"
    ).case
    assert (case.responsible_area_id, case.desk) == (tree.street.id, "街道心理援助站")
    other = call(session, operator, phone="13900000009", description="小区封控买不到菜").case
    # A caller not in the registry goes to the hotline's own jurisdiction.
    assert (other.responsible_area_id, other.desk) == (tree.street.id, None)


def test_the_same_client_request_id_answers_with_the_same_case(session, desk):
    _, operator = desk
    first = call(session, operator, client_request_id="tel-0001")
    again = call(session, operator, client_request_id="tel-0001", description="别的")
    assert again.outcome == "replayed"
    assert again.case.id == first.case.id
    assert session.scalar(select(HotlineCase.description)) == "家里老人降压药吃完了"
    assert len(session.scalars(select(HotlineCase)).all()) == 1


def test_a_repeat_call_attaches_to_the_open_case(session, desk):
    _, operator = desk
    first = call(session, operator, phone="138 0000 0001")
    again = call(
        session,
        operator,
        phone="13800000001",
        description="药还没送到",
        now=T0 + timedelta(hours=1),
    )
    assert again.outcome == "attached"
    assert again.case.id == first.case.id
    assert first.case.calls == 2
    assert service.timeline(session, first.case)[-1].text == "药还没送到"


def test_a_repeat_caller_is_asked_when_the_sender_wants_to_choose(session, desk):
    _, operator = desk
    first = call(session, operator)
    with pytest.raises(service.RepeatCaller) as asked:
        call(session, operator, on_repeat="ask")
    assert [c.code for c in asked.value.open_cases] == [first.case.code]
    second = call(session, operator, on_repeat="new", description="小区封控买不到菜")
    assert second.outcome == "created" and second.case.id != first.case.id
    chosen = call(session, operator, attach_to=first.case.code, description="又打来了")
    assert chosen.case.id == first.case.id


def test_a_case_closes_only_after_a_confirmed_call_back_then_takes_a_follow_up(session, desk):
    _, operator = desk
    case = call(session, operator).case
    later = T0 + timedelta(hours=3)
    steps = dict(session=session, case=case, by="op", deadlines=DEADLINES)
    service.act(**steps, action=Action.START, now=later)
    service.act(**steps, action=Action.RESOLVE, now=later)
    with pytest.raises(HotlineRuleError) as refused:
        service.act(**steps, action=Action.CLOSE, now=later)
    assert refused.value.code == "callback_required"
    with pytest.raises(service.HotlineError):
        service.record_follow_up(session, case=case, satisfaction=5, comment="", by="op", now=later)
    service.add_note(
        session, case=case, by="op", now=later, text="回访:药已收到", callback_confirmed=True
    )
    service.act(**steps, action=Action.CLOSE, now=later)
    assert case.state == "closed" and case.open_due_at is None
    service.record_follow_up(
        session, case=case, satisfaction=5, comment="很满意", by="op", now=later
    )
    assert service.follow_ups(session, case)[0].satisfaction == 5


def test_a_reopened_case_gets_a_fresh_deadline_and_needs_a_new_call_back(session, desk):
    _, operator = desk
    case = call(session, operator).case
    steps = dict(session=session, case=case, by="op", deadlines=DEADLINES)
    service.act(**steps, action=Action.RESOLVE, now=T0)
    service.add_note(session, case=case, by="op", now=T0, text="", callback_confirmed=True)
    service.act(**steps, action=Action.CLOSE, now=T0)
    reopened_at = T0 + timedelta(days=1)
    service.act(**steps, action=Action.REOPEN, now=reopened_at)
    assert case.state == "assigned"
    assert case.due_at == reopened_at + timedelta(hours=12) == case.open_due_at
    service.act(**steps, action=Action.RESOLVE, now=reopened_at)
    with pytest.raises(HotlineRuleError):
        service.act(**steps, action=Action.CLOSE, now=reopened_at)


def test_linked_work_shows_its_status_on_the_case(session, desk):
    _, operator = desk
    case = call(session, operator).case
    work = service.spawn_work(
        session, case=case, kind=LinkedWorkKind.DELIVERY, details="硝苯地平 1盒", by="op", now=T0
    )
    service.move_work(
        session,
        work=work,
        status=LinkedWorkStatus.ACCEPTED,
        by="driver",
        now=T0,
        external_ref="DO-7",
    )
    assert [(w.kind, w.status, w.external_ref) for w in service.linked_work(session, case)] == [
        ("delivery", "accepted", "DO-7")
    ]
    with pytest.raises(HotlineRuleError):
        service.move_work(session, work=work, status=LinkedWorkStatus.REQUESTED, by="x", now=T0)


def test_logistics_finds_the_delivery_requests_nobody_took_yet(session, desk):
    _, operator = desk
    case = call(session, operator).case
    taken = service.spawn_work(
        session, case=case, kind=LinkedWorkKind.DELIVERY, details="米 10斤", by="op", now=T0
    )
    waiting = service.spawn_work(
        session, case=case, kind=LinkedWorkKind.DELIVERY, details="药 1盒", by="op", now=T0
    )
    service.spawn_work(
        session, case=case, kind=LinkedWorkKind.HOME_VISIT, details="看看", by="op", now=T0
    )
    service.move_work(session, work=taken, status=LinkedWorkStatus.ACCEPTED, by="l", now=T0)
    assert service.requested_work(session, kind=LinkedWorkKind.DELIVERY) == [waiting]


def test_a_supervisor_reassigns_a_case(session, desk):
    tree, operator = desk
    case = call(session, operator, resident_code=_resident(session, "居民0").resident_code).case
    service.reassign(
        session, case=case, area=tree.other_community, desk="尖山社区服务站", by="sup", now=T0
    )
    assert case.community_id == tree.other_community.id
    assert service.timeline(session, case)[-1].text == "尖山社区 · 尖山社区服务站"


def test_cases_are_seen_inside_the_jurisdiction_they_are_routed_to(session, desk):
    tree, operator = desk
    inside = call(session, operator, resident_code=_resident(session, "居民0").resident_code).case
    outside = call(
        session,
        operator,
        phone="13800000100",
        resident_code=_resident(session, "居民100").resident_code,
    ).case
    worker = _user(session, "worker", "community_worker", tree.community)
    scope = Scope.under(tree.community)
    assert service.visible_case(session, scope, worker.id, inside.code) is inside
    with pytest.raises(service.HotlineError):
        service.visible_case(session, scope, worker.id, outside.code)
    # The operator who took a call keeps seeing it wherever it was routed.
    assert service.visible_case(session, Scope.nothing(), operator.id, outside.code) is outside


def test_a_resident_outside_the_operators_scope_is_refused_and_nothing_is_written(session, desk):
    tree, _ = desk
    narrow = _user(session, "narrow", area=tree.community)
    with pytest.raises(service.HotlineError) as refused:
        call(
            session,
            narrow,
            scope=Scope.under(tree.community),
            resident_code=_resident(session, "居民100").resident_code,
        )
    assert refused.value.code in ("unknown_resident", "unknown_hotline")
    assert session.scalar(select(HotlineCase.id)) is None
    assert session.scalar(select(TimelineEntry.id)) is None
