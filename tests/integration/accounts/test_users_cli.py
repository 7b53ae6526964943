"""`tongxin users disable|enable|reset-password` on the test database."""

import json
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from typer.testing import CliRunner

from tongxin.accounts.models import User
from tongxin.accounts.rules import Role
from tongxin.accounts.service import authenticate, create_user
from tongxin.audit.models import AuditEntry
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.settings import get_settings


@pytest.fixture
def cli(db, database_url, monkeypatch):
    """A runner on the test database with one community worker, wang."""
    monkeypatch.setenv("TONGXIN_DATABASE_URL", database_url)
    get_settings.cache_clear()
    with session_scope(make_sessionmaker(db)) as s:
        create_user(s, username="wang", password="tongxin-test-1", role=Role.COMMUNITY_WORKER)
    yield CliRunner()
    get_settings.cache_clear()


def run(runner, *args):
    return runner.invoke(build(), list(args))


def wang(db):
    with session_scope(make_sessionmaker(db)) as s:
        user = s.scalar(select(User).where(User.username == "wang"))
        s.expunge(user)
        return user


def test_disable_stops_sign_in_and_ends_sessions_and_enable_restores_sign_in(cli, db):
    result = run(cli, "users", "disable", "wang", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"username": "wang", "is_active": False}
    user = wang(db)
    assert not user.is_active
    assert user.sessions_valid_from is not None
    with session_scope(make_sessionmaker(db)) as s:
        assert authenticate(s, username="wang", password="tongxin-test-1") is None

    assert run(cli, "users", "enable", "wang").exit_code == 0
    with session_scope(make_sessionmaker(db)) as s:
        assert authenticate(s, username="wang", password="tongxin-test-1") is not None


def test_reset_password_sets_a_new_hash_and_ends_sessions(cli, db):
    started = datetime.now(UTC)

    result = run(cli, "users", "reset-password", "wang", "--password", "Xinxing-2022-09")

    assert result.exit_code == 0, result.output
    user = wang(db)
    PasswordHasher().verify(user.password_hash, "Xinxing-2022-09")
    assert user.sessions_valid_from >= started


def test_a_weak_new_password_is_refused_with_the_reasons(cli, db):
    result = run(cli, "users", "reset-password", "wang", "--password", "88888888")

    assert result.exit_code == 2
    assert "error [password_policy]" in result.stderr
    assert "常见密码" in result.stderr
    assert wang(db).sessions_valid_from is None


@pytest.mark.parametrize("command", ["disable", "enable"])
def test_an_unknown_user_is_an_error(cli, command):
    result = run(cli, "users", command, "nobody")

    assert result.exit_code == 2
    assert "error [unknown_user]" in result.stderr


def test_the_commands_are_audited_as_the_operator(cli, db):
    run(cli, "users", "disable", "wang")
    run(cli, "users", "reset-password", "wang", "--password", "Xinxing-2022-09")

    with session_scope(make_sessionmaker(db)) as s:
        entries = s.execute(
            select(AuditEntry.action, AuditEntry.source).order_by(AuditEntry.number)
        ).all()
    assert [tuple(e) for e in entries] == [
        ("accounts.user.disable", "cli"),
        ("accounts.user.password_reset", "cli"),
    ]
