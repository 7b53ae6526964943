from fastapi.testclient import TestClient

from tongxin.web.app import create_app


def test_healthz_answers_without_signing_in(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_documents_the_json_api_but_not_the_pages(client):
    paths = client.get("/openapi.json").json()["paths"]

    assert {
        "/api/v1/residents",
        "/api/v1/residents/{resident_code}",
        "/api/v1/areas",
        "/api/v1/areas/{code}",
        "/healthz",
    } <= set(paths)
    assert "/residents" not in paths
    assert "/login" not in paths


def test_swagger_ui_loads(client):
    response = client.get("/docs")

    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_our_stylesheet_is_served(client):
    response = client.get("/static/tongxin.css")

    assert response.status_code == 200
    assert "--primary" in response.text


def test_an_unknown_page_gets_a_chinese_404_page(admin):
    response = admin.get("/no/such/page")

    assert response.status_code == 404
    assert "找不到页面" in response.text
    assert "返回首页" in response.text


def test_an_unknown_api_route_gets_json(admin):
    response = admin.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_a_crash_shows_the_500_page_not_a_traceback(small_pages, db, world):
    app = create_app(small_pages, engine=db)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("kaput")

    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")

    assert response.status_code == 500
    assert "服务器出错了" in response.text
    assert "kaput" not in response.text


def test_a_malformed_path_parameter_shows_a_clear_400_page(small_pages, db, world):
    app = create_app(small_pages, engine=db)

    @app.get("/typed/{number}", include_in_schema=False)
    def typed(number: int) -> dict[str, int]:
        return {"number": number}

    with TestClient(app) as c:
        response = c.get("/typed/abc")

    assert response.status_code == 400
    assert "请求有误" in response.text
    assert "number" in response.text


def test_creating_the_app_twice_gives_independent_apps(small_pages, db):
    first = create_app(small_pages, engine=db)
    second = create_app(small_pages.model_copy(update={"page_size": 3}), engine=db)

    assert first.state.settings.page_size == 10
    assert second.state.settings.page_size == 3
