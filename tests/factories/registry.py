"""Small area trees and residents for tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from tongxin.registry import rules
from tongxin.registry.models import Area, Household
from tongxin.registry.rules import AreaLevel, Gender
from tongxin.registry.service import (
    NewResident,
    add_area,
    add_household,
    household_ancestors,
    insert_residents,
    resident_rows,
)


@dataclass
class Tree:
    """A district with one street, two communities, each with a compound, building and unit."""

    district: Area
    street: Area
    community: Area
    other_community: Area
    building: Area
    other_building: Area
    unit: Area
    household: Household
    other_household: Household


def build_tree(session: Session) -> Tree:
    """Create a small Baiyun-like tree with one household per community."""
    d = add_area(session, code="520113", name="白云区", level=AreaLevel.DISTRICT)
    s = add_area(session, code="520113001", name="泉湖街道", level=AreaLevel.STREET, parent=d)
    c1 = add_area(
        session, code="520113001001", name="新星社区", level=AreaLevel.COMMUNITY, parent=s
    )
    c2 = add_area(
        session, code="520113001002", name="尖山社区", level=AreaLevel.COMMUNITY, parent=s
    )
    p1 = add_area(
        session,
        code="520113001001-01",
        name="尖山小区",
        level=AreaLevel.COMPOUND,
        parent=c1,
        latitude=26.68,
        longitude=106.63,
    )
    p2 = add_area(
        session,
        code="520113001002-01",
        name="优品城邦",
        level=AreaLevel.COMPOUND,
        parent=c2,
        latitude=26.69,
        longitude=106.64,
    )
    b1 = add_area(
        session,
        code="520113001001-01-01",
        name="1栋",
        level=AreaLevel.BUILDING,
        parent=p1,
        latitude=26.6801,
        longitude=106.6301,
    )
    b2 = add_area(
        session,
        code="520113001002-01-01",
        name="1栋",
        level=AreaLevel.BUILDING,
        parent=p2,
        latitude=26.6901,
        longitude=106.6401,
    )
    u1 = add_area(
        session, code="520113001001-01-01-1", name="1单元", level=AreaLevel.UNIT, parent=b1
    )
    h1 = add_household(session, area=u1, room="101")
    h2 = add_household(session, area=b2, room="202")
    return Tree(d, s, c1, c2, b1, b2, u1, h1, h2)


def resident_id(serial: int, born: date = date(1980, 5, 17), gender: Gender = Gender.MALE) -> str:
    """Return a valid Baiyun ID number for a serial."""
    return rules.make_resident_id("520113", born, serial, gender)


def add_residents(session: Session, household: Household, count: int, start: int = 0) -> None:
    """Insert `count` residents into a household."""
    people = [
        NewResident(
            resident_code=rules.resident_code(10_000 + start + i),
            name=f"居民{start + i}",
            gender="M",
            birth_date=date(1980, 5, 17),
            phone=f"1380000{start + i:04d}",
            id_type=rules.IdType.RESIDENT_CARD.value,
            id_number=resident_id(2 * (start + i)),
            household_id=household.id,
        )
        for i in range(count)
    ]
    conn = session.connection()
    insert_residents(
        conn,
        resident_rows(people, household_ancestors(conn, [household.id])),
        moved_in=date(2022, 9, 1),
    )
