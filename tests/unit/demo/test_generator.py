"""The demo generator on its own: names, sizes, proportions, ID numbers, determinism."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from tongxin.demo import names
from tongxin.demo.generator import AS_OF, DistrictGenerator, PersonSpec, plan_district, split
from tongxin.registry import rules
from tongxin.registry.rules import AreaLevel


def _generate(residents: int, seed: int) -> tuple[DistrictGenerator, list]:
    generator = DistrictGenerator(residents=residents, seed=seed)
    return generator, list(generator.chunks())


@pytest.fixture(scope="module")
def district() -> tuple[DistrictGenerator, list]:
    return _generate(2000, seed=7)


def _people(chunks: list) -> list[PersonSpec]:
    return [p for chunk in chunks for p in chunk.people]


def _digest(chunks: list) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(repr((chunk.areas, chunk.households, chunk.people)).encode())
    return h.hexdigest()


def test_split_keeps_the_total_and_the_proportions():
    parts = split(1001, [1.0, 2.0, 1.0])
    assert sum(parts) == 1001
    assert parts[1] in (500, 501)


def test_exactly_the_requested_number_of_residents_is_generated(district):
    generator, chunks = district
    assert len(_people(chunks)) == 2000
    assert sum(c.residents for c in generator.plan.communities()) == 2000


def test_real_baiyun_place_names_come_first(district):
    _, chunks = district
    areas = [a for chunk in chunks for a in chunk.areas]
    streets = [a.name for a in areas if a.level is AreaLevel.STREET]
    assert streets[:4] == ["泉湖街道", "龚家寨街道", "大山洞街道", "麦架镇"]
    communities = [a for a in areas if a.level is AreaLevel.COMMUNITY]
    assert communities[0].name == "新星社区"
    assert communities[0].code == "520113001001"
    compounds = [a.name for a in areas if a.level is AreaLevel.COMPOUND]
    assert compounds[:2] == ["尖山小区", "优品城邦"]
    assert areas[0].code == "520113" and areas[0].name == "白云区"


def test_area_codes_are_unique_and_extend_their_parent_code(district):
    _, chunks = district
    areas = [a for chunk in chunks for a in chunk.areas]
    codes = [a.code for a in areas]
    assert len(set(codes)) == len(codes)
    for area in areas[1:]:
        assert area.parent_code is not None
        assert area.code.startswith(area.parent_code)
        assert len(area.code) > len(area.parent_code)


def test_the_first_community_is_the_largest_even_at_a_million():
    import random

    plan = plan_district(1_000_000, random.Random(3))
    sizes = sorted((c.residents for c in plan.communities()), reverse=True)
    largest = plan.largest_community()
    assert largest.name == "新星社区"
    assert largest.residents == sizes[0] > sizes[1]
    assert sizes[-1] >= 6_000 and sizes[0] <= 25_000
    streets = [s.name for s in plan.streets]
    assert streets[: len(names.REAL_STREETS)] == list(names.REAL_STREETS)


def test_coordinates_lie_around_baiyun(district):
    _, chunks = district
    for area in (a for chunk in chunks for a in chunk.areas):
        if area.level is AreaLevel.UNIT:
            continue
        assert area.latitude is not None and area.longitude is not None
        assert abs(area.latitude - 26.68) < 0.15
        assert abs(area.longitude - 106.63) < 0.15


def test_id_numbers_are_valid_unique_and_agree_with_gender_and_birth_date(district):
    _, chunks = district
    people = _people(chunks)
    assert len({p.id_number for p in people}) == len(people)
    for p in people:
        facts = rules.parse_resident_id(p.id_number)
        assert facts.birth_date == p.birth_date
        assert facts.gender.value == p.gender
        assert p.id_number[:4] == "5201"


def test_resident_codes_are_unique_and_well_formed(district):
    _, chunks = district
    codes = [p.resident_code for p in _people(chunks)]
    assert len(set(codes)) == len(codes)
    assert all(rules.is_resident_code(c) for c in codes)


def test_household_sizes_and_age_structure_look_like_the_census(district):
    _, chunks = district
    people = _people(chunks)
    households = sum(len(chunk.households) for chunk in chunks)
    assert 2.2 <= len(people) / households <= 3.0
    ages = [rules.age_on(p.birth_date, AS_OF) for p in people]
    assert all(0 <= a <= 100 for a in ages)
    elderly = sum(a >= 60 for a in ages) / len(ages)
    children = sum(a < 15 for a in ages) / len(ages)
    assert 0.12 <= elderly <= 0.26
    assert 0.10 <= children <= 0.24
    genders = Counter(p.gender for p in people)
    assert 0.4 <= genders["M"] / len(people) <= 0.6


def test_care_groups_and_phones_have_plausible_shares(district):
    _, chunks = district
    people = _people(chunks)
    n = len(people)
    needs_care = sum(p.bedridden or p.disabled for p in people) / n
    assert 0.005 <= needs_care <= 0.04
    assert 0 < sum(p.pregnant for p in people) < 0.02 * n
    assert 0 < sum(p.key_group for p in people) < 0.03 * n
    assert 0 < sum(p.no_smartphone for p in people) < 0.15 * n
    assert {p.status for p in people} <= {s.value for s in rules.ResidentStatus}
    phones = [p.phone for p in people if p.phone]
    assert 0.6 * n <= len(phones) <= 0.95 * n
    assert all(rules.is_mobile(p) for p in phones)
    children = [p for p in people if rules.age_on(p.birth_date, AS_OF) < 14]
    assert all(p.phone is None and not p.no_smartphone for p in children)
    assert not any(p.pregnant and p.gender == "M" for p in people)


def test_every_household_has_somebody_and_rooms_are_unique_per_unit(district):
    _, chunks = district
    for chunk in chunks:
        used = {p.household for p in chunk.people}
        assert used == set(range(len(chunk.households)))
        rooms = [(h.unit_code, h.room) for h in chunk.households]
        assert len(set(rooms)) == len(rooms)


def test_the_same_seed_generates_the_same_district():
    assert _digest(_generate(400, seed=11)[1]) == _digest(_generate(400, seed=11)[1])


def test_another_seed_generates_another_district():
    assert _digest(_generate(400, seed=11)[1]) != _digest(_generate(400, seed=12)[1])


def test_a_district_needs_residents():
    with pytest.raises(ValueError):
        DistrictGenerator(residents=0, seed=1)
