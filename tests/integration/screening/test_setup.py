from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories.screening import ROUND_START, build_round
from tongxin.screening import rules
from tongxin.screening.models import DeviceToken
from tongxin.screening.setup import (
    SetupError,
    add_site,
    issue_tubes,
    revoke_device_token,
    scope_for_token,
)


def test_round_deadline_defaults_to_24_hours_and_sites_take_their_zone(session):
    r = build_round(session)
    assert r.round.deadline - r.round.starts_at == timedelta(hours=24)
    assert r.site.zone == "controlled"
    assert [s.code for s in r.stations] == ["R1-S1-1", "R1-S1-2"]


def test_issued_barcodes_are_unique_and_well_formed_across_batches(session):
    r = build_round(session)
    more = issue_tubes(session, round=r.round, count=3, capacity=20).barcodes
    every = r.tubes10 + r.tubes1 + more
    assert len(set(every)) == len(every) == 18
    assert all(rules.is_tube_barcode(b) for b in every)


def test_repooling_sizes_are_refused(session):
    r = build_round(session)
    with pytest.raises(SetupError) as err:
        issue_tubes(session, round=r.round, count=1, capacity=30)
    assert err.value.code == "pool_size"


def test_a_site_outside_the_round_targets_is_refused(session):
    r = build_round(session)
    with pytest.raises(SetupError) as err:
        add_site(session, round=r.round, code="S9", name="x", area=r.tree.district, stations=1)
    assert err.value.code == "site_outside_round"


def test_device_tokens_expire_and_can_be_revoked(session):
    r = build_round(session)
    scope = scope_for_token(session, token=r.site_token, now=ROUND_START)
    assert scope is not None and scope.site_id == r.site.id and scope.lab_id is None
    assert scope_for_token(session, token=r.site_token, now=ROUND_START + timedelta(days=2)) is None
    assert scope_for_token(session, token="txd_wrong", now=ROUND_START) is None
    row = session.scalar(select(DeviceToken).where(DeviceToken.device == "pad-1"))
    revoke_device_token(session, token_id=row.id, now=ROUND_START)
    assert scope_for_token(session, token=r.site_token, now=ROUND_START) is None
