"""Administrators disable, enable and reset users; sign-in lockout as the browser sees it."""

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import PASSWORD, post_form, sign_in
from tongxin.accounts.models import User
from tongxin.audit.models import AuditEntry
from tongxin.db import make_sessionmaker, session_scope
from tongxin.web.app import create_app


@pytest.fixture
def second(small_pages, db):
    """A second browser on the same server."""
    with TestClient(create_app(small_pages, engine=db)) as c:
        yield c


def _user(db, username: str) -> User:
    with session_scope(make_sessionmaker(db)) as s:
        user = s.scalar(select(User).where(User.username == username))
        s.expunge(user)
        return user


def test_the_user_list_shows_every_account_with_its_state(admin):
    page = admin.get("/admin/users")

    assert page.status_code == 200
    for name in ("admin", "worker", "sampler"):
        assert f'id="user-{name}" data-active="yes"' in page.text
    assert "王社工" in page.text


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/sampler/password"])
def test_only_administrators_see_the_user_pages(worker, path):
    assert worker.get(path).status_code == 403


def test_only_administrators_may_disable_users(worker):
    assert post_form(worker, "/admin/users/sampler/disable").status_code == 403


def test_disabling_a_user_ends_their_open_session_at_the_next_request(admin, second, db):
    sign_in(second, "worker")
    assert second.get("/", follow_redirects=False).status_code == 200

    done = post_form(admin, "/admin/users/worker/disable", follow_redirects=False)

    assert done.status_code == 303
    assert second.get("/", follow_redirects=False).status_code == 303
    assert second.get("/api/v1/areas").status_code == 401
    assert 'id="user-worker" data-active="no"' in admin.get("/admin/users").text
    refused = post_form(
        second, "/login", {"username": "worker", "password": PASSWORD}, page="/login"
    )
    assert refused.status_code == 401


def test_an_enabled_user_signs_in_again(admin, second):
    post_form(admin, "/admin/users/worker/disable")

    post_form(admin, "/admin/users/worker/enable")

    sign_in(second, "worker")


def test_an_administrator_cannot_disable_themselves(admin, db):
    response = post_form(admin, "/admin/users/admin/disable")

    assert response.status_code == 409
    assert "不能停用自己的账号" in response.text
    assert _user(db, "admin").is_active


def test_an_unknown_user_is_404(admin):
    assert post_form(admin, "/admin/users/nobody/disable").status_code == 404
    assert admin.get("/admin/users/nobody/password").status_code == 404


def test_reset_password_applies_the_policy_and_shows_every_problem(admin, db):
    before = _user(db, "worker").password_hash

    response = post_form(
        admin,
        "/admin/users/worker/password",
        {"password": "88888888", "confirm": "88888888"},
        page="/admin/users/worker/password",
    )

    assert response.status_code == 400
    assert "密码至少需要10个字符" in response.text
    assert "常见密码" in response.text
    assert _user(db, "worker").password_hash == before


def test_reset_password_needs_the_same_password_twice(admin):
    response = post_form(
        admin,
        "/admin/users/worker/password",
        {"password": "Xinxing-2022-09", "confirm": "Xinxing-2022-10"},
    )

    assert response.status_code == 400
    assert "两次输入的密码不一致" in response.text


def test_reset_password_sets_it_and_ends_the_users_other_sessions(admin, second, db):
    sign_in(second, "worker")

    done = post_form(
        admin,
        "/admin/users/worker/password",
        {"password": "Xinxing-2022-09", "confirm": "Xinxing-2022-09"},
        follow_redirects=False,
    )

    assert done.status_code == 303
    PasswordHasher().verify(_user(db, "worker").password_hash, "Xinxing-2022-09")
    assert second.get("/", follow_redirects=False).status_code == 303
    sign_in(second, "worker", "Xinxing-2022-09")


def test_resetting_ones_own_password_keeps_the_session_doing_it(admin):
    post_form(
        admin,
        "/admin/users/admin/password",
        {"password": "Xinxing-2022-09", "confirm": "Xinxing-2022-09"},
    )

    assert admin.get("/", follow_redirects=False).status_code == 200


def test_the_admin_menu_link_shows_only_to_administrators(admin, second):
    assert 'href="/admin/users"' in admin.get("/").text
    sign_in(second, "worker")
    assert 'href="/admin/users"' not in second.get("/").text


def _fail(client: TestClient, username: str, times: int) -> None:
    for _ in range(times):
        post_form(
            client, "/login", {"username": username, "password": "wrong-pass-1"}, page="/login"
        )


@pytest.mark.parametrize("username", ["worker", "nobody"])
def test_too_many_failures_lock_sign_in_with_a_clear_message_for_known_and_unknown_names(
    client, world, username
):
    _fail(client, username, 5)

    response = post_form(
        client, "/login", {"username": username, "password": PASSWORD}, page="/login"
    )

    assert response.status_code == 429
    assert "登录失败次数过多，已暂时锁定" in response.text
    assert "之后再试" in response.text


def test_a_locked_name_does_not_lock_other_names(client, world, second):
    _fail(client, "worker", 5)

    sign_in(second, "admin")


def test_user_administration_is_audited_without_the_password(admin, db):
    post_form(admin, "/admin/users/worker/disable")
    post_form(admin, "/admin/users/worker/enable")
    post_form(
        admin,
        "/admin/users/worker/password",
        {"password": "Xinxing-2022-09", "confirm": "Xinxing-2022-09"},
    )

    with session_scope(make_sessionmaker(db)) as s:
        entries = s.execute(
            select(
                AuditEntry.action, AuditEntry.actor, AuditEntry.target_id, AuditEntry.summary
            ).order_by(AuditEntry.number)
        ).all()
    assert [(a, actor, t) for a, actor, t, _ in entries] == [
        ("accounts.user.disable", "admin", "worker"),
        ("accounts.user.enable", "admin", "worker"),
        ("accounts.user.password_reset", "admin", "worker"),
    ]
    assert "Xinxing" not in str([summary for *_, summary in entries])
