"""Needy households with coordinates, a depot, a donation and a small fleet for supplies tests."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy.orm import Session

from tongxin.logistics import service as fleet
from tongxin.logistics.models import Driver, Vehicle
from tongxin.registry import rules
from tongxin.registry.models import Area
from tongxin.registry.rules import AreaLevel, Gender
from tongxin.registry.service import (
    NewResident,
    add_area,
    add_household,
    household_ancestors,
    insert_residents,
    resident_rows,
)
from tongxin.settings import Settings
from tongxin.supplies import service
from tongxin.supplies.models import Donation, Donor, Item, Warehouse
from tongxin.supplies.service import IntakeLine

AT = datetime(2022, 9, 20, 1, 0, tzinfo=UTC)
DAY = date(2022, 9, 21)


def add_needy_households(
    session: Session, community: Area, count: int, *, seed: int = 7, code_prefix: str = "N"
) -> list[int]:
    """Add `count` households of one elderly person living alone (every 5th: a bedridden
    member in a household of three), spread over buildings with coordinates; return ids."""
    rng = random.Random(seed)
    compound = add_area(
        session,
        code=f"{community.code}-{code_prefix}",
        name="互助小区",
        level=AreaLevel.COMPOUND,
        parent=community,
        latitude=26.68,
        longitude=106.64,
    )
    ids: list[int] = []
    people: list[NewResident] = []
    serial = 0
    for b in range((count + 9) // 10):
        building = add_area(
            session,
            code=f"{compound.code}-{b + 1:02d}",
            name=f"{b + 1}栋",
            level=AreaLevel.BUILDING,
            parent=compound,
            latitude=26.68 + rng.uniform(-0.03, 0.03),
            longitude=106.64 + rng.uniform(-0.03, 0.03),
        )
        for r in range(min(10, count - 10 * b)):
            household = add_household(session, area=building, room=f"{r + 1}01")
            ids.append(household.id)
            bedridden_home = len(ids) % 5 == 0
            for k in range(3 if bedridden_home else 1):
                serial += 1
                born = date(1945, 1, 1) if k == 0 else date(1985, 1, 1)
                people.append(
                    NewResident(
                        resident_code=rules.resident_code(900_000 + serial * 7),
                        name=f"老人{serial}",
                        gender=Gender.FEMALE.value,
                        birth_date=born,
                        phone=None,
                        id_type=rules.IdType.RESIDENT_CARD.value,
                        id_number=rules.make_resident_id(
                            "520113", born, 500 + 2 * serial, Gender.FEMALE
                        ),
                        household_id=household.id,
                        bedridden=bedridden_home and k == 0,
                    )
                )
    connection = session.connection()
    insert_residents(
        connection,
        resident_rows(people, household_ancestors(connection, ids)),
        moved_in=date(2020, 1, 1),
    )
    return ids


@dataclass
class Depot:
    """A depot with vegetables and rice donated, and the vegetable package defined."""

    warehouse: Warehouse
    donor: Donor
    donation: Donation
    vegetables: Item
    rice: Item
    package: Item


def stocked_depot(
    session: Session, settings: Settings, *, vegetables_t: str = "0.6", rice_kg: str = "150"
) -> Depot:
    """Make a depot, a donor who gave vegetables (t) and rice (kg), and 蔬菜包 = 5 kg + 1 kg."""
    warehouse = service.add_warehouse(
        session,
        code="CK1",
        name="白云区物资中转站",
        kind="depot",
        latitude=26.675,
        longitude=106.635,
    )
    donor = service.add_donor(session, name="贵州某农业公司", kind="enterprise")
    vegetables = service.add_item(session, code="VEG", name="蔬菜", unit="kg", perishable=True)
    rice = service.add_item(session, code="RICE", name="大米", unit="kg", perishable=True)
    package = service.define_package(
        session, code="PKG-VEG", name="蔬菜包", components=[("VEG", "5"), ("RICE", "1")]
    )
    donation = service.receive_donation(
        session,
        donor=donor,
        warehouse=warehouse,
        lines=[
            IntakeLine("VEG", vegetables_t, "t", expires_on=date(2022, 9, 30)),
            IntakeLine("RICE", rice_kg, "kg", expires_on=date(2023, 9, 1)),
        ],
        at=AT,
        by="tester",
        settings=settings,
    )
    return Depot(warehouse, donor, donation, vegetables, rice, package)


def add_fleet(
    session: Session, depot: Warehouse, count: int, *, capacity_kg: int = 200
) -> list[Vehicle]:
    """Add `count` volunteer drivers, each with a car of `capacity_kg` available 08:00-20:00."""
    out = []
    for i in range(count):
        driver: Driver = fleet.add_driver(session, name=f"志愿司机{i + 1}")
        out.append(
            fleet.add_vehicle(
                session,
                plate=f"贵A{10000 + i}",
                driver=driver,
                depot=depot,
                capacity_kg=capacity_kg,
                available_from=time(8, 0),
                available_to=time(20, 0),
            )
        )
    return out
