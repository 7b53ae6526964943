from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin.registry import rules
from tongxin.registry.rules import Gender, IdNumberError


def test_published_example_id_number_has_check_digit_x():
    # GB 11643 worked example: 11010519491231002X
    assert rules.id_check_digit("11010519491231002") == "X"
    facts = rules.parse_resident_id("11010519491231002X")
    assert facts.birth_date == date(1949, 12, 31)
    assert facts.gender is Gender.FEMALE


def test_wrong_check_digit_is_rejected_with_its_code():
    with pytest.raises(IdNumberError) as err:
        rules.parse_resident_id("110105194912310021")
    assert err.value.code == "id_check_digit"


def test_impossible_birth_date_is_rejected():
    first17 = "52011319800230001"
    with pytest.raises(IdNumberError) as err:
        rules.parse_resident_id(first17 + rules.id_check_digit(first17))
    assert err.value.code == "id_birth_date"


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2022, 12, 31)),
    serial=st.integers(0, 999),
    gender=st.sampled_from(list(Gender)),
)
def test_generated_ids_parse_back_to_their_birth_date_and_gender(born, serial, gender):
    number = rules.make_resident_id("520113", born, serial, gender)
    facts = rules.parse_resident_id(number)
    assert facts.birth_date == born
    assert facts.gender is gender


@given(st.integers(0, (1 << 40) - 1))
def test_resident_codes_round_trip_their_check_character(n):
    code = rules.resident_code(n)
    assert rules.is_resident_code(code)
    flipped = code[:3] + ("0" if code[3] != "0" else "1") + code[4:]
    assert not rules.is_resident_code(flipped)


def test_age_counts_whole_years_and_groups_derive_elderly_and_child():
    assert rules.age_on(date(1962, 9, 24), date(2022, 9, 23)) == 59
    assert rules.age_on(date(1962, 9, 23), date(2022, 9, 23)) == 60
    groups = rules.groups_of(
        born=date(1950, 1, 1),
        flags={rules.Group.BEDRIDDEN},
        today=date(2022, 9, 23),
        elderly_age=60,
        child_age=14,
    )
    assert groups == [rules.Group.ELDERLY, rules.Group.BEDRIDDEN]


def test_mobile_numbers_accept_country_prefix_and_reject_landlines():
    assert rules.is_mobile(rules.normalise_phone("+86 138-0000-1234"))
    assert not rules.is_mobile(rules.normalise_phone("0851-8888888"))
