import re

from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope


def _count_row(page: str, name: str) -> int:
    """Return the resident count shown in the tree-table row of the area called `name`."""
    row = re.search(rf">{re.escape(name)}</a></td>.*?<td class=\"num\">([\d,]+)</td>", page, re.S)
    assert row, f"no row for {name}"
    return int(row.group(1).replace(",", ""))


def test_home_shows_the_district_with_each_street_and_its_resident_count(admin, world):
    page = admin.get("/").text

    assert "白云区" in page
    assert _count_row(page, "泉湖街道") == 35


def test_drilling_down_shows_counts_per_community(admin, world):
    page = admin.get(f"/areas/{world.street}").text

    assert _count_row(page, "新星社区") == 30
    assert _count_row(page, "尖山社区") == 5


def test_a_compound_shows_its_buildings_with_coordinates(admin, world):
    page = admin.get("/areas/520113001001-01").text

    assert _count_row(page, "1栋") == 30
    assert "26.6801° N, 106.6301° E" in page


def test_a_unit_lists_its_households_and_the_people_in_them(admin, world):
    page = admin.get(f"/areas/{world.unit}").text

    assert "101室" in page
    assert f'href="/residents/{world.codes["居民7"]}"' in page
    assert "居民29" in page


def test_a_building_without_units_lists_its_households_directly(admin, world):
    page = admin.get(f"/areas/{world.other_building}").text

    assert "202室" in page
    assert "居民104" in page


def test_breadcrumb_leads_from_the_district_down_to_the_area(admin, world):
    page = admin.get(f"/areas/{world.unit}").text
    crumbs = page[page.index('class="crumbs"') : page.index("</nav>", page.index('class="crumbs"'))]

    names = re.findall(r">([^<>]+)</(?:a|span)>", crumbs)
    assert names == ["白云区", "泉湖街道", "新星社区", "尖山小区", "1栋", "1单元"]


def test_a_community_worker_starts_at_their_community(worker, world):
    page = worker.get("/").text

    assert "新星社区" in page
    assert "尖山小区" in page
    assert "尖山社区" not in page


def test_areas_outside_the_jurisdiction_are_not_found(worker, world):
    for code in (world.other_community, world.other_building, world.street, world.district):
        response = worker.get(f"/areas/{code}")
        assert response.status_code == 404, code
        assert "找不到页面" in response.text


def test_a_user_without_jurisdiction_and_without_a_system_wide_role_sees_no_area(
    client, world, db, password_hash
):
    from tests.web.conftest import add_user, sign_in

    with session_scope(make_sessionmaker(db)) as s:
        add_user(s, password_hash, "unplaced", Role.COMMUNITY_WORKER)
    sign_in(client, "unplaced")

    page = client.get("/").text
    assert "没有管辖区域" in page
    assert client.get(f"/areas/{world.district}").status_code == 404


def test_a_role_without_registry_access_is_refused_the_area_tree(client, world):
    from tests.web.conftest import sign_in

    sign_in(client, "sampler")

    assert client.get("/").status_code == 403
    assert client.get(f"/areas/{world.district}").status_code == 403
