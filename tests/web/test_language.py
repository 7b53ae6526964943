from tongxin.web import i18n
from tongxin.web.templating import template_dirs


def test_pages_are_in_chinese_by_default(admin, world):
    page = admin.get("/residents").text

    assert '<html lang="zh-CN">' in page
    assert "居民名单" in page
    assert "下一页" in page


def test_lang_query_switches_to_english_and_the_choice_sticks(admin, world):
    first = admin.get("/residents?lang=en").text
    later = admin.get("/").text

    assert '<html lang="en">' in first
    assert "Resident list" in first
    assert "Next page" in first
    assert "Sub-areas" in later


def test_the_switch_link_stores_the_choice_and_returns_to_the_page(admin, world):
    response = admin.get("/lang/en", params={"next": "/residents"}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/residents"
    assert "Resident list" in admin.get("/residents").text
    admin.get("/lang/zh_CN")
    assert "居民名单" in admin.get("/residents").text


def test_an_unknown_language_is_ignored(admin, world):
    admin.get("/lang/fr")

    assert "居民名单" in admin.get("/residents?lang=xx").text


def test_the_language_survives_signing_in(client, world):
    from tests.web.conftest import sign_in

    client.get("/login?lang=en")
    sign_in(client, "admin")

    assert "Sign out" in client.get("/").text


def test_the_default_language_comes_from_settings(small_pages, db, world):
    from fastapi.testclient import TestClient

    from tests.web.conftest import sign_in
    from tongxin.web.app import create_app

    settings = small_pages.model_copy(update={"default_locale": "en"})
    with TestClient(create_app(settings, engine=db)) as c:
        assert "Sign in to Tongxin" in c.get("/login").text
        sign_in(c, "admin")
        assert "Resident list" in c.get("/residents").text


def test_role_labels_are_translated(worker, world):
    worker.get("/lang/en")

    assert "Community worker" in worker.get("/").text


def test_every_ui_msgid_has_an_english_translation():
    used = i18n.extract_messages(template_dirs(), [i18n.PACKAGE_DIR])
    english = i18n.translations("en")

    assert len(used) > 100
    missing = sorted(m for m in used if english.gettext(m) == m)
    assert missing == []


def test_the_catalogs_hold_no_msgid_that_the_code_no_longer_uses():
    from babel.messages.pofile import read_po

    used = i18n.extract_messages(template_dirs(), [i18n.PACKAGE_DIR])
    for locale in i18n.LOCALES:
        with i18n.catalog_path(locale).open("rb") as f:
            listed = {m.id for m in read_po(f) if m.id}
        assert listed == used, locale
