"""A small round on the small registry tree: two sites, tubes, a lab and device tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from tests.factories.registry import Tree, add_residents, build_tree
from tongxin.screening.models import Lab, Round, Site, Station
from tongxin.screening.rules import Zone
from tongxin.screening.setup import (
    add_lab,
    add_site,
    create_round,
    issue_device_token,
    issue_tubes,
)

ROUND_START = datetime(2022, 9, 23, 0, 0, tzinfo=UTC)


@dataclass
class RoundSetup:
    """Everything a ledger test needs to send valid events."""

    tree: Tree
    round: Round
    lab: Lab
    site: Site
    stations: list[Station]
    tubes10: list[str]
    tubes1: list[str]
    site_token: str
    lab_token: str


def build_round(session: Session, *, residents: int = 30) -> RoundSetup:
    """Create a round over the small tree (新星社区 controlled, 尖山社区 precaution)."""
    tree = build_tree(session)
    add_residents(session, tree.household, residents)
    rnd = create_round(
        session,
        code="R1",
        name="第一轮全员核酸",
        district=tree.district,
        targets=[(tree.community, Zone.CONTROLLED), (tree.other_community, Zone.PRECAUTION)],
        starts_at=ROUND_START,
    )
    lab = add_lab(session, code="LAB1", name="金域检测", round=rnd)
    site, stations = add_site(
        session, round=rnd, code="S1", name="新星社区广场", area=tree.community, stations=2
    )
    tubes10 = issue_tubes(session, round=rnd, count=10, capacity=10).barcodes
    tubes1 = issue_tubes(session, round=rnd, count=5, capacity=1).barcodes
    site_token, _ = issue_device_token(
        session, round=rnd, device="pad-1", now=ROUND_START, site=site
    )
    lab_token, _ = issue_device_token(session, round=rnd, device="lab-1", now=ROUND_START, lab=lab)
    return RoundSetup(tree, rnd, lab, site, stations, tubes10, tubes1, site_token, lab_token)


def build_round_with_live_tokens(session: Session) -> RoundSetup:
    """The factory round with its device tokens issued now (the factory's date from 2022)."""
    from sqlalchemy import delete

    from tongxin.screening.models import DeviceToken

    r = build_round(session)
    session.execute(delete(DeviceToken))
    now = datetime.now(UTC)
    r.site_token, _ = issue_device_token(
        session, round=r.round, device="pad-1", now=now, site=r.site
    )
    r.lab_token, _ = issue_device_token(session, round=r.round, device="lab-1", now=now, lab=r.lab)
    return r
