"""`tongxin demo build` and `tongxin demo up` through the command line, on both engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from sqlalchemy import func, select
from typer.testing import CliRunner

from tongxin.cli import build
from tongxin.registry.models import Resident
from tongxin.settings import Settings, get_settings


@pytest.fixture
def cli_env(db, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI's settings at the test database with a small demo size."""
    monkeypatch.setenv("TONGXIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TONGXIN_DEMO_RESIDENTS", "150")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record what `demo up` would serve instead of blocking on a real server."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    return calls


def test_demo_build_json_reports_counts_and_logins(cli_env, db):
    result = CliRunner().invoke(build(), ["demo", "build", "--residents", "120", "--json"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["residents"] == 120
    assert line["largest_community_name"] == "新星社区"
    assert {x["username"] for x in line["logins"]} >= {"admin", "worker"}
    with db.connect() as c:
        assert c.scalar(select(func.count()).select_from(Resident)) == 120


def test_demo_build_refuses_a_second_district_with_a_clear_message(cli_env):
    runner = CliRunner()
    assert runner.invoke(build(), ["demo", "build", "--residents", "50"]).exit_code == 0
    again = runner.invoke(build(), ["demo", "build", "--residents", "50"])
    assert again.exit_code == 2
    assert "district_exists" in again.stderr
    assert "--replace" in again.stderr


def test_demo_up_builds_once_prints_url_and_logins_then_serves(cli_env, db, served):
    runner = CliRunner()
    first = runner.invoke(build(), ["demo", "up"])
    assert first.exit_code == 0, first.output
    assert "http://127.0.0.1:8000" in first.stdout
    assert "admin-demo-2022" in first.stdout
    assert served[0]["app"] == "tongxin.web.app:app_from_environment"
    assert served[0]["factory"] is True
    assert (served[0]["host"], served[0]["port"]) == ("127.0.0.1", 8000)
    with db.connect() as c:
        assert c.scalar(select(func.count()).select_from(Resident)) == 150

    second = runner.invoke(build(), ["demo", "up"])
    assert second.exit_code == 0, second.output
    assert "already built" in second.stderr
    assert "worker-demo-2022" in second.stdout
    assert len(served) == 2
    with db.connect() as c:
        assert c.scalar(select(func.count()).select_from(Resident)) == 150
