"""Set-up pages for items, package definitions, warehouses, drivers and vehicles.

Each form stores a good entry and lists it; a bad one is answered 422 with the error next
to its field, and nothing is stored.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.factories.registry import build_tree
from tests.web.conftest import add_user, post_form, sign_in
from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope
from tongxin.logistics import service as fleet
from tongxin.logistics.models import Driver, Vehicle
from tongxin.supplies import service
from tongxin.supplies.models import Item, PackageComponent, Warehouse
from tongxin.web.app import create_app


@pytest.fixture
def officer(settings, db, password_hash):
    with session_scope(make_sessionmaker(db)) as s:
        tree = build_tree(s)
        add_user(
            s, password_hash, "supplies", Role.SUPPLIES_OFFICER, jurisdiction_id=tree.district.id
        )
        add_user(s, password_hash, "wang", Role.VOLUNTEER)
        add_user(s, password_hash, "worker", Role.COMMUNITY_WORKER)
    with TestClient(create_app(settings, engine=db)) as client:
        sign_in(client, "supplies")
        yield client


def _count(db, model) -> int:
    with db.connect() as c:
        return int(c.scalar(select(func.count()).select_from(model)))


def _post(client, url, data):
    # The package definition form is on the packages page.
    page = "/supplies/packages" if url.startswith("/supplies/packages") else url
    return post_form(client, url, data, page=page, follow_redirects=False)


def _field_error(answer, where: str) -> bool:
    return f'data-error-for="{where}"' in answer.text


def test_an_item_added_on_its_page_is_listed_with_its_unit_and_weight(officer, db):
    answer = _post(
        officer,
        "/supplies/items",
        {"code": "O2", "name": "医用氧气", "unit": "bottle", "oxygen": "on"},
    )
    assert answer.status_code == 303
    page = officer.get(answer.headers["location"]).text
    assert 'data-testid="added"' in page and 'data-item="O2"' in page and "医用氧气" in page
    with session_scope(make_sessionmaker(db)) as s:
        item = service.item_by_code(s, "O2")
        assert (item.unit, item.oxygen, item.perishable) == ("bottle", True, False)


def test_an_item_with_an_unknown_unit_is_refused_at_the_unit_field_and_not_stored(officer, db):
    answer = _post(officer, "/supplies/items", {"code": "RICE", "name": "大米", "unit": "斤"})
    assert answer.status_code == 422
    assert 'data-code="unknown_unit"' in answer.text and _field_error(answer, "item.unit")
    assert 'value="RICE"' in answer.text  # what was typed is kept
    assert _count(db, Item) == 0


def test_a_package_defined_on_the_packages_page_weighs_its_contents(officer, db):
    for code, name in (("VEG", "蔬菜"), ("RICE", "大米")):
        made = _post(officer, "/supplies/items", {"code": code, "name": name, "unit": "kg"})
        assert made.status_code == 303
    answer = _post(
        officer,
        "/supplies/packages/define",
        {
            "code": "PKG-VEG",
            "name": "蔬菜包",
            "component_1": "VEG",
            "quantity_1": "5",
            "component_3": "RICE",
            "quantity_3": "1",
        },
    )
    assert answer.status_code == 303
    page = officer.get(answer.headers["location"]).text
    assert 'data-testid="defined"' in page and 'data-package="PKG-VEG"' in page
    with session_scope(make_sessionmaker(db)) as s:
        package = service.item_by_code(s, "PKG-VEG")
        assert package.is_package and package.unit_weight_g == 6000


def test_a_package_with_a_bad_quantity_is_refused_at_that_row_and_not_stored(officer, db):
    _post(officer, "/supplies/items", {"code": "VEG", "name": "蔬菜", "unit": "kg"})
    answer = _post(
        officer,
        "/supplies/packages/define",
        {
            "code": "PKG-VEG",
            "name": "蔬菜包",
            "component_2": "VEG",
            "quantity_2": "五",
        },
    )
    assert answer.status_code == 422
    # The only filled row is the form's second: the error is shown there, not at row 1.
    assert _field_error(answer, "components[2].quantity")
    assert _count(db, Item) == 1 and _count(db, PackageComponent) == 0


def test_a_depot_added_on_its_page_is_listed_with_its_coordinates(officer, db):
    answer = _post(
        officer,
        "/supplies/warehouses",
        {
            "code": "CK1",
            "name": "白云区物资中转站",
            "kind": "depot",
            "latitude": "26.675",
            "longitude": "106.635",
        },
    )
    assert answer.status_code == 303
    page = officer.get(answer.headers["location"]).text
    assert 'data-warehouse="CK1"' in page and "26.675, 106.635" in page


def test_a_depot_without_coordinates_is_refused_at_the_latitude_and_not_stored(officer, db):
    answer = _post(
        officer, "/supplies/warehouses", {"code": "CK1", "name": "中转站", "kind": "depot"}
    )
    assert answer.status_code == 422
    assert 'data-code="no_coordinates"' in answer.text
    assert _field_error(answer, "warehouse.latitude")
    assert _count(db, Warehouse) == 0


def test_a_driver_linked_to_an_account_is_listed_with_it(officer, db):
    answer = _post(
        officer,
        "/logistics/drivers",
        {"name": "王师傅", "phone": "13985012233", "username": "wang"},
    )
    assert answer.status_code == 303
    page = officer.get(answer.headers["location"]).text
    assert "王师傅" in page and ">wang<" in page


def test_a_driver_with_an_unknown_account_is_refused_at_that_field_and_not_stored(officer, db):
    answer = _post(officer, "/logistics/drivers", {"name": "王师傅", "username": "nobody"})
    assert answer.status_code == 422
    assert 'data-code="unknown_user"' in answer.text and _field_error(answer, "driver.user")
    assert _count(db, Driver) == 0


@pytest.fixture
def depot_and_driver(db) -> int:
    with session_scope(make_sessionmaker(db)) as s:
        service.add_warehouse(
            s, code="CK1", name="中转站", kind="depot", latitude=26.675, longitude=106.635
        )
        return fleet.add_driver(s, name="李师傅").id


def test_a_vehicle_added_on_its_page_is_listed_with_driver_depot_and_hours(
    officer, db, depot_and_driver
):
    answer = _post(
        officer,
        "/logistics/vehicles",
        {
            "plate": "贵A12345",
            "driver": str(depot_and_driver),
            "depot": "CK1",
            "capacity_kg": "200",
            "seats": "5",
            "available_from": "07:30",
            "available_to": "19:00",
        },
    )
    assert answer.status_code == 303
    page = officer.get(answer.headers["location"]).text
    assert 'data-vehicle="贵A12345"' in page and "李师傅" in page and "07:30-19:00" in page


def test_a_vehicle_with_inverted_hours_is_refused_at_the_end_time_and_not_stored(
    officer, db, depot_and_driver
):
    answer = _post(
        officer,
        "/logistics/vehicles",
        {
            "plate": "贵A12345",
            "driver": str(depot_and_driver),
            "depot": "CK1",
            "capacity_kg": "200",
            "available_from": "19:00",
            "available_to": "07:30",
        },
    )
    assert answer.status_code == 422
    assert 'data-code="empty_window"' in answer.text
    assert _field_error(answer, "vehicle.available_to")
    assert _count(db, Vehicle) == 0


def test_the_set_up_forms_need_the_supplies_permission_and_the_csrf_token(officer, db, settings):
    with TestClient(create_app(settings, engine=db)) as worker:
        sign_in(worker, "worker")
        assert worker.get("/supplies/items").status_code == 403
        assert worker.get("/logistics/vehicles").status_code == 403
    forged = officer.post("/supplies/items", data={"code": "VEG", "name": "蔬菜", "unit": "kg"})
    assert forged.status_code == 403
    assert _count(db, Item) == 0


def _stock_packages(db, settings, packages: int) -> None:
    from datetime import date

    from tests.factories.supplies import AT

    with session_scope(make_sessionmaker(db)) as s:
        depot = service.add_warehouse(
            s, code="CK1", name="中转站", kind="depot", latitude=26.675, longitude=106.635
        )
        service.add_item(s, code="VEG", name="蔬菜", unit="kg", perishable=True)
        package = service.define_package(s, code="PKG", name="蔬菜包", components=[("VEG", "5")])
        service.receive_donation(
            s,
            donor=service.add_donor(s, name="某公司", kind="enterprise"),
            warehouse=depot,
            lines=[service.IntakeLine("VEG", str(5 * packages), "kg", date(2099, 1, 1))],
            at=AT,
            by="t",
            settings=settings,
        )
        service.assemble(s, package=package, packages=packages, warehouse=depot, at=AT, by="t")


def test_an_institution_added_on_its_page_is_offered_on_the_allocation_page(officer, db):
    answer = _post(
        officer,
        "/supplies/institutions",
        {
            "kind": "elderly_home",
            "name": "白云区社会福利院",
            "address": "白云区云峰大道1号",
            "people": "80",
            "latitude": "26.69",
            "longitude": "106.62",
        },
    )
    assert answer.status_code == 303
    assert "白云区社会福利院" in officer.get(answer.headers["location"]).text
    page = officer.get("/supplies/allocations").text
    offered = page.split('data-testid="institutions"')[1].split("</fieldset>")[0]
    assert "白云区社会福利院" in offered and "养老院" in offered


def test_an_institution_without_coordinates_is_refused_at_the_latitude_and_not_stored(officer, db):
    from tongxin.supplies.models import Recipient

    answer = _post(
        officer,
        "/supplies/institutions",
        {"kind": "school", "name": "白云区第一小学", "address": "白云区某路", "people": "600"},
    )
    assert answer.status_code == 422
    assert 'data-code="no_coordinates"' in answer.text
    assert _field_error(answer, "institution.latitude")
    assert _count(db, Recipient) == 0


def test_ticked_institutions_get_orders_split_by_the_people_they_serve(officer, db, settings):
    from tongxin.supplies import allocation
    from tongxin.supplies.models import DeliveryOrder

    _stock_packages(db, settings, 10)
    with session_scope(make_sessionmaker(db)) as s:
        home = allocation.add_institution(
            s,
            kind="elderly_home",
            name="福利院",
            address="云峰大道1号",
            latitude=26.69,
            longitude=106.62,
            people=60,
        ).id
        school = allocation.add_institution(
            s,
            kind="school",
            name="第一小学",
            address="白云南路2号",
            latitude=26.67,
            longitude=106.64,
            people=20,
        ).id
        allocation.add_institution(
            s, kind="community", name="未选社区", address="某路", latitude=26.6, longitude=106.6
        )
    form = {
        "item": "PKG",
        "warehouse": "CK1",
        "delivery_date": "2022-09-21",
        "total": "10",
        "window_from": "09:00",
        "window_to": "12:00",
    }
    answer = post_form(
        officer,
        "/supplies/allocations/institutions",
        form | {"institution": [str(home), str(school)]},
        page="/supplies/allocations",
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]
    orders_page = officer.get(answer.headers["location"]).text
    assert "福利院" in orders_page and "第一小学" in orders_page and "未选社区" not in orders_page
    with session_scope(make_sessionmaker(db)) as s:
        units = {o.recipient_id: o.milli // 1000 for o in s.scalars(select(DeliveryOrder))}
    # One each, the other 8 by people served (60:20).
    assert units == {home: 7, school: 3}


def test_allocating_to_no_institution_or_an_unknown_one_is_refused_and_nothing_moves(
    officer, db, settings
):
    from tongxin.supplies.models import DeliveryOrder, StockMove

    _stock_packages(db, settings, 2)
    moves = _count(db, StockMove)
    form = {"item": "PKG", "warehouse": "CK1", "delivery_date": "2022-09-21"}
    none = post_form(
        officer, "/supplies/allocations/institutions", form, page="/supplies/allocations"
    )
    assert none.status_code == 422 and _field_error(none, "institutions")
    bogus = post_form(
        officer,
        "/supplies/allocations/institutions",
        form | {"institution": ["999"]},
        page="/supplies/allocations",
    )
    assert bogus.status_code == 422 and 'data-code="unknown_recipient"' in bogus.text
    assert _count(db, DeliveryOrder) == 0 and _count(db, StockMove) == moves
