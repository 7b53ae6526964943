"""`tongxin screening site pin` and `tongxin tokens issue --courier` from the CLI."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories.screening import build_round
from tongxin.audit.models import AuditEntry
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.screening.models import DeviceToken, Site
from tongxin.screening.setup import pin_matches, scope_for_token


@pytest.fixture
def cli(db, commands_use_test_db):
    """A runner on the test database with the factory round (site S1, lab LAB1)."""
    with session_scope(make_sessionmaker(db)) as s:
        build_round(s, residents=1)
    yield CliRunner()


def run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def test_a_site_pin_is_printed_once_and_only_its_hash_is_kept(cli, db):
    first = run(cli, "screening", "site", "pin", "--round", "R1", "--site", "S1", "--json")
    second = run(cli, "screening", "site", "pin", "--round", "R1", "--site", "S1")

    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert out["site"] == "S1" and out["replaced"] is False
    assert len(out["pin"]) == 6 and out["pin"].isdigit()
    assert second.exit_code == 0 and "shown only this once" in second.stdout
    new_pin = second.stdout.splitlines()[0]
    with session_scope(make_sessionmaker(db)) as s:
        stored = s.scalar(select(Site.handover_pin_hash).where(Site.code == "S1"))
        audit = [
            (e.action, str(e.summary))
            for e in s.scalars(select(AuditEntry).order_by(AuditEntry.number))
        ]
    assert stored and out["pin"] not in stored
    assert pin_matches(stored, new_pin) and not pin_matches(stored, out["pin"] + "0")
    assert [a for a, _ in audit if a == "screening.site.pin"] == ["screening.site.pin"] * 2
    assert all(new_pin not in summary and out["pin"] not in summary for _, summary in audit)


def test_a_site_pin_names_an_unknown_round_or_site(cli):
    no_round = run(cli, "screening", "site", "pin", "--round", "R9", "--site", "S1")
    no_site = run(cli, "screening", "site", "pin", "--round", "R1", "--site", "S9")

    assert no_round.exit_code == 2 and "R9" in no_round.stderr
    assert no_site.exit_code == 2 and "S9" in no_site.stderr


def test_a_courier_token_is_for_the_round_and_neither_a_site_nor_a_lab(cli, db):
    issued = run(cli, "tokens", "issue", "--round", "R1", "--courier", "courier-7", "--json")
    both = run(cli, "tokens", "issue", "--round", "R1", "--courier", "c", "--site", "S1")
    renamed = run(cli, "tokens", "issue", "--round", "R1", "--courier", "c", "--device", "other")

    assert issued.exit_code == 0, issued.output
    out = json.loads(issued.stdout)
    assert out["device"] == "courier-7" and out["courier"] == "courier-7"
    assert out["site"] is None and out["lab"] is None
    with session_scope(make_sessionmaker(db)) as s:
        scope = scope_for_token(s, token=out["token"], now=datetime.now(UTC))
        couriers = s.scalars(select(DeviceToken.device).where(DeviceToken.courier)).all()
    assert scope is not None and scope.courier and scope.site_id is None and scope.lab_id is None
    assert couriers == ["courier-7"]
    assert both.exit_code == 2 and "--courier" in both.stderr
    assert renamed.exit_code == 2 and "--courier" in renamed.stderr
