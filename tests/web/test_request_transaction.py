"""A request's transaction commits before its answer leaves the server."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.web.conftest import post_form
from tongxin.accounts.models import User
from tongxin.web.app import create_app
from tongxin.web.deps import RequestSession


def _user(name: str) -> User:
    return User(
        username=name,
        display_name=name,
        password_hash="x",
        role="admin",
        is_active=True,
        created_at=datetime.now(UTC),
    )


def test_a_commit_that_fails_answers_500_not_200(settings, db):
    app = create_app(settings, engine=db)

    # Two users with one name: the unique constraint only fires at commit, after the route.
    @app.post("/_test/clash")
    def clash(session: Session = RequestSession) -> dict[str, str]:
        session.add_all([_user("same"), _user("same")])
        return {"status": "ok"}

    with TestClient(app, raise_server_exceptions=False) as client:
        response = post_form(client, "/_test/clash")
    assert response.status_code == 500
    with Session(db) as s:
        assert s.scalar(select(func.count(User.id))) == 0


def test_a_route_that_succeeds_has_committed_when_it_answers(settings, db):
    app = create_app(settings, engine=db)

    @app.post("/_test/add")
    def add(session: Session = RequestSession) -> dict[str, str]:
        session.add(_user("one"))
        return {"status": "ok"}

    with TestClient(app) as client:
        assert post_form(client, "/_test/add").status_code == 200
    with Session(db) as s:
        assert s.scalar(select(func.count(User.id))) == 1
