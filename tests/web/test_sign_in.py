from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.web.conftest import PASSWORD, post_form, sign_in


def test_sign_in_form_is_shown_in_chinese(client, world):
    response = client.get("/login")

    assert response.status_code == 200
    assert 'name="username"' in response.text
    assert 'name="password"' in response.text
    assert "登录" in response.text


def test_correct_password_signs_in_and_redirects_home_with_a_session_cookie(client, world):
    response = post_form(
        client, "/login", data={"username": "admin", "password": PASSWORD}, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert "tongxin_session" in response.cookies
    assert client.get("/", follow_redirects=False).status_code == 200


def test_wrong_password_shows_the_form_again_and_does_not_sign_in(client, world):
    response = post_form(
        client,
        "/login",
        data={"username": "admin", "password": "wrong-pass-1"},
        follow_redirects=False,
    )

    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_unknown_user_is_refused_like_a_wrong_password(client, world):
    response = post_form(client, "/login", data={"username": "nobody", "password": PASSWORD})

    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


@pytest.mark.parametrize(
    "path", ["/", "/residents?area=520113", "/areas/520113", "/registry/import"]
)
def test_pages_send_a_signed_out_visitor_to_sign_in_and_remember_the_page(client, world, path):
    response = client.get(path, follow_redirects=False)

    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [path]


def test_sign_in_returns_to_the_page_that_asked_for_it(client, world):
    response = post_form(
        client,
        "/login",
        data={"username": "admin", "password": PASSWORD, "next": "/residents?name=居民1"},
        follow_redirects=False,
    )

    assert unquote(response.headers["location"]) == "/residents?name=居民1"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(client, world, target):
    response = post_form(
        client,
        "/login",
        data={"username": "admin", "password": PASSWORD, "next": target},
        follow_redirects=False,
    )

    assert response.headers["location"] == "/"


@pytest.mark.parametrize("path", ["/api/v1/residents", "/api/v1/areas", "/api/v1/areas/520113"])
def test_api_answers_401_json_when_signed_out(client, world, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response.json() == {"detail": "not signed in"}


def test_sign_out_ends_the_session(client, world):
    sign_in(client, "admin")

    response = post_form(client, "/logout", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/areas").status_code == 401


def test_the_page_header_names_the_signed_in_user_and_role(worker):
    page = worker.get("/").text

    assert "王社工" in page
    assert "社区工作者" in page
