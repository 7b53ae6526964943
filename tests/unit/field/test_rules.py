"""The pooling a field device applies offline mirrors the ledger's."""

from __future__ import annotations

from tongxin.field.rules import nearest_zone, person_capacity

POLICY = {
    "sealed_pooling": "single",
    "controlled_pool": 10,
    "precaution_pool": 20,
    "key_group_pool": 1,
}


def test_the_nearest_target_area_decides_the_zone() -> None:
    # building 5 sits in compound 4 (sealed) inside community 3 (controlled)
    zones = {3: "controlled", 4: "sealed"}
    assert nearest_zone([5, 4, 3, 2, 1], zones, "precaution") == "sealed"
    assert nearest_zone([5, None, 3, 2, 1], zones, "precaution") == "controlled"


def test_a_person_under_no_target_area_takes_the_sites_zone() -> None:
    assert nearest_zone([9, 8, 7], {3: "controlled"}, "precaution") == "precaution"


def test_capacity_follows_zone_and_key_group() -> None:
    assert person_capacity(zone="controlled", key_group=False, **POLICY) == 10
    assert person_capacity(zone="precaution", key_group=False, **POLICY) == 20
    assert person_capacity(zone="controlled", key_group=True, **POLICY) == 1
    assert person_capacity(zone="sealed", key_group=False, **POLICY) == 1
    household = {**POLICY, "sealed_pooling": "household"}
    assert person_capacity(zone="sealed", key_group=True, **household) == 0
