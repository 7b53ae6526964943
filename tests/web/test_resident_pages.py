import re
from html import unescape

import pytest


def _names(page: str) -> list[str]:
    """Return the resident names listed in a resident table, in order."""
    return re.findall(r'<a href="/residents/[0-9A-Z*~$=]+" class="strong">([^<]+)</a>', page)


def _next_url(page: str) -> str | None:
    found = re.search(r'<a class="button" href="([^"]+)" rel="next">', page)
    return unescape(found.group(1)) if found else None


def _total(page: str) -> int:
    found = re.search(r'data-testid="total">([\d,]+)<', page)
    assert found
    return int(found.group(1).replace(",", ""))


def test_the_list_of_a_community_shows_its_residents_and_the_total(admin, world):
    page = admin.get(f"/residents?area={world.community}").text

    assert _total(page) == 30
    assert _names(page) == [f"居民{i}" for i in range(10)]
    assert "居民100" not in page


def test_the_next_page_link_carries_the_last_id_and_walks_the_whole_list(admin, world):
    seen: list[str] = []
    url: str | None = f"/residents?area={world.community}&name=居民"
    pages = 0
    while url:
        page = admin.get(url).text
        seen += _names(page)
        url = _next_url(page)
        pages += 1
        if url:
            assert "after=" in url and "name=" in url

    assert pages == 3
    assert seen == [f"居民{i}" for i in range(30)]


def test_the_last_page_has_no_next_link_but_links_back_to_the_first(admin, world):
    first = admin.get(f"/residents?area={world.community}").text
    second = admin.get(_next_url(first)).text
    third = admin.get(_next_url(second)).text

    assert _next_url(third) is None
    assert "第一页" in third
    assert _names(third) == [f"居民{i}" for i in range(20, 30)]


def test_without_an_area_the_list_covers_the_users_whole_jurisdiction(worker, world):
    assert _total(worker.get("/residents").text) == 30


def test_search_by_name_prefix(admin, world):
    page = admin.get("/residents", params={"name": "居民10"}).text

    assert _names(page) == ["居民10", "居民100", "居民101", "居民102", "居民103", "居民104"]


def test_search_by_exact_name(admin, world):
    assert _names(admin.get("/residents", params={"name": "居民104"}).text) == ["居民104"]


def test_search_by_the_last_four_digits_of_the_phone(admin, world):
    # 居民7's phone is 13800000007.
    page = admin.get("/residents", params={"phone": "0007"}).text

    assert _names(page) == ["居民7"]
    assert _total(page) == 1


def test_search_by_a_longer_phone_suffix_checks_every_digit(admin, world):
    assert _names(admin.get("/residents", params={"phone": "00000007"}).text) == ["居民7"]
    assert _names(admin.get("/residents", params={"phone": "90000007"}).text) == []


def test_search_by_a_whole_id_number_finds_the_person_through_its_keyed_hash(admin, world):
    from tests.factories.registry import resident_id

    number = resident_id(2 * 12)
    page = admin.get("/residents", params={"id_suffix": number}).text

    assert _names(page) == ["居民12"]
    # Numbers are sealed, so past the indexed last four only the whole number matches.
    assert _names(admin.get("/residents", params={"id_suffix": number[-6:]}).text) == []
    assert _names(admin.get("/residents", params={"id_suffix": number[-4:]}).text) == ["居民12"]


def test_search_by_building(admin, world):
    page = admin.get("/residents", params={"building": world.other_building}).text

    assert _names(page) == [f"居民{i}" for i in range(100, 105)]


def test_a_community_list_offers_its_buildings_to_choose_from(admin, world):
    page = admin.get(f"/residents?area={world.community}").text

    assert f'<option value="{world.building}"' in page
    assert "尖山小区 1栋" in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"phone": "12"}, "手机尾号至少4位数字"),
        ({"phone": "12ab"}, "手机尾号至少4位数字"),
        ({"id_suffix": "1x"}, "证件尾号至少4位"),
        ({"after": "abc"}, "翻页参数无效"),
        ({"building": "no-such-building"}, "找不到该楼栋"),
    ],
)
def test_bad_search_terms_show_a_clear_message_not_an_error_page(admin, world, params, message):
    response = admin.get("/residents", params=params)

    assert response.status_code == 400
    assert message in response.text
    assert 'role="search"' in response.text


def test_a_building_outside_the_chosen_area_is_refused(admin, world):
    response = admin.get(
        "/residents", params={"area": world.community, "building": world.other_building}
    )

    assert response.status_code == 400
    assert "该楼栋不在所选区域内" in response.text


def test_blank_form_fields_are_ignored(admin, world):
    page = admin.get(
        "/residents",
        params={"area": world.community, "name": "", "phone": "", "id_suffix": "", "building": ""},
    ).text

    assert _total(page) == 30


def test_the_list_masks_phone_and_id_but_shows_place_and_groups(admin, world):
    page = admin.get("/residents", params={"phone": "0007"}).text

    assert "138****0007" in page
    assert "13800000007" not in page
    assert "1栋 1单元 101室" in page
    assert "在住" in page


def test_elderly_badge_comes_from_the_age_setting(client, world, small_pages, db):
    from fastapi.testclient import TestClient

    from tests.web.conftest import sign_in
    from tongxin.web.app import create_app

    # Everyone in the test tree was born in 1980; an elderly age of 30 makes them elderly.
    settings = small_pages.model_copy(update={"elderly_age": 30})
    with TestClient(create_app(settings, engine=db)) as other:
        sign_in(other, "admin")
        page = other.get("/residents", params={"phone": "0007"}).text
    assert "badge-elderly" in page
    sign_in(client, "admin")
    assert "badge-elderly" not in client.get("/residents", params={"phone": "0007"}).text


def test_the_detail_page_shows_the_whole_record_with_address_history_and_qr(admin, world):
    code = world.codes["居民7"]

    page = admin.get(f"/residents/{code}").text

    # An administrator runs the system, not the response: personal details stay masked.
    assert "138****0007" in page and "13800000007" not in page
    assert "1980-05-17" in page
    for part in ("白云区", "泉湖街道", "新星社区", "尖山小区", "1栋", "1单元", "101室"):
        assert part in page
    assert "2022-09-01" in page
    assert "<svg" in page and "qrline" in page
    assert code in page


def test_the_detail_page_lists_the_other_members_of_the_household(admin, world):
    page = admin.get(f"/residents/{world.codes['居民100']}").text

    assert "同户居民" in page
    assert "居民101" in page


def test_an_unknown_resident_is_not_found(admin, world):
    response = admin.get("/residents/000000000")

    assert response.status_code == 404
    assert "找不到页面" in response.text


def test_a_community_worker_cannot_open_residents_outside_the_community(worker, world):
    assert worker.get(f"/residents/{world.codes['居民7']}").status_code == 200
    assert worker.get(f"/residents/{world.codes['居民100']}").status_code == 404
    assert worker.get(f"/residents?area={world.other_community}").status_code == 404


def test_a_community_worker_searching_finds_only_their_own_residents(worker, world):
    page = worker.get("/residents", params={"name": "居民10"}).text

    assert _names(page) == ["居民10"]
