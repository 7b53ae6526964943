"""CLI commands acting for a user (`--as`) keep to that user's permission and jurisdiction."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories.registry import add_residents
from tests.factories.screening import build_round
from tongxin.accounts.models import User
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope

COMMUNITY_A, COMMUNITY_B = "520113001001", "520113001002"
PASSWORD = "tongxin-test-1"


@pytest.fixture
def cli(db, commands_use_test_db):
    """A runner on the test database with a round over two communities."""
    with session_scope(make_sessionmaker(db)) as s:
        r = build_round(s, residents=5)
        add_residents(s, r.tree.other_household, 3, start=100)
    yield CliRunner()


def run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def _create(runner, username, role, *extra):
    created = run(
        runner, "users", "create", username, "--role", role, "--password", PASSWORD, *extra
    )
    assert created.exit_code == 0, created.output
    return created


def test_a_lab_receiver_is_created_with_their_lab(cli, db):
    created = _create(cli, "rx", "lab_receiver", "--lab", "LAB1", "--json")
    unknown = run(
        cli, "users", "create", "rx2", "--role", "lab_receiver", "--lab", "NOPE",
        "--password", PASSWORD,
    )  # fmt: skip

    assert json.loads(created.stdout)["lab"] == "LAB1"
    assert unknown.exit_code == 2 and "lab_unknown" in unknown.output
    with db.connect() as c:
        assert c.scalar(select(User.lab_id).where(User.username == "rx")) is not None


def test_round_exports_and_coverage_keep_to_the_acting_users_community(cli, tmp_path):
    _create(cli, "worker", "community_worker", "--area", COMMUNITY_A)
    _create(cli, "sampler", "sampler")
    out = tmp_path / "未检.xlsx"

    def export(area, user):
        return run(
            cli, "screening", "export", "untested", "--round", "R1", "--area", area,
            "--out", out, "--as", user,
        )  # fmt: skip

    own = export(COMMUNITY_A, "worker")
    assert own.exit_code == 0, own.output
    out.unlink()
    assert export(COMMUNITY_B, "worker").exit_code == 2
    assert export(COMMUNITY_A, "sampler").exit_code == 2
    assert export(COMMUNITY_A, "nobody").exit_code == 2
    assert not out.exists()

    coverage = run(
        cli, "screening", "coverage", "--round", "R1", "--area", COMMUNITY_B, "--as", "worker"
    )
    operator = run(cli, "screening", "coverage", "--round", "R1", "--area", COMMUNITY_B)
    assert coverage.exit_code == 2
    assert operator.exit_code == 0
