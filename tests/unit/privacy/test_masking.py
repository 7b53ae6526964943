"""Masking rules and who sees personal details whole."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin.accounts.rules import Role
from tongxin.privacy.rules import Detail, mask_id_number, mask_phone, may_see_full, shown


def test_an_id_number_keeps_its_first_and_last_four_characters():
    assert mask_id_number("520102199001011234") == "5201**********1234"
    assert mask_id_number("52010219900101123X") == "5201**********123X"


def test_a_mobile_number_keeps_its_first_three_and_last_four_digits():
    assert mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (None, ""),
        ("", ""),
        ("7", "*"),
        ("1234", "***4"),
        ("E12345678", "E1*****78"),  # a passport keeps a quarter at each end
        ("520102900101123", "520*********123"),  # the old 15-digit card
    ],
)
def test_short_and_odd_id_numbers_are_still_mostly_hidden(value, masked):
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [(None, ""), ("12", "**"), ("12345", "****5"), ("0851-8123456", "085*****3456")],
)
def test_short_and_odd_phones_never_show_whole(value, masked):
    assert mask_phone(value) == masked


@given(st.text(alphabet="0123456789X", min_size=2, max_size=32))
def test_a_masked_value_keeps_its_length_and_hides_enough(value):
    masked_id, masked_phone = mask_id_number(value), mask_phone(value)
    assert len(masked_id) == len(masked_phone) == len(value)
    assert masked_id.count("*") * 2 >= len(value)  # at least half of an ID number
    assert masked_phone.count("*") * 3 >= len(value)  # a third of a phone (138****5678)


def test_only_health_officers_see_id_numbers_whole():
    allowed = {r for r in Role if may_see_full(r.value, Detail.ID_NUMBER)}
    assert allowed == {Role.HEALTH_OFFICER}


def test_those_who_call_people_see_phones_whole():
    allowed = {r for r in Role if may_see_full(r.value, Detail.PHONE)}
    assert allowed == {
        Role.HEALTH_OFFICER,
        Role.COMMUNITY_WORKER,
        Role.HOTLINE_OPERATOR,
        Role.HOTLINE_SUPERVISOR,
    }
    assert not may_see_full("no-such-role", Detail.PHONE)


def test_shown_masks_unless_full_is_granted():
    assert shown("13812345678", Detail.PHONE, full=False) == "138****5678"
    assert shown("13812345678", Detail.PHONE, full=True) == "13812345678"
    assert shown("520102199001011234", Detail.ID_NUMBER, full=False) == "5201**********1234"
