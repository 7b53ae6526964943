"""Household cards on A4 pages: a family's cards stay on one sheet where they fit."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin.privacy.rules import mask_name
from tongxin.registry.rules import CARDS_PER_PAGE, paginate_cards


def test_small_households_share_a_page_in_order():
    assert paginate_cards([2, 3, 3]) == [[(0, 2), (1, 3), (2, 3)]]


def test_a_household_that_does_not_fit_what_is_left_starts_a_fresh_page():
    assert paginate_cards([3, 6]) == [[(0, 3)], [(1, 6)]]


def test_a_household_larger_than_a_page_fills_pages_in_turn():
    assert paginate_cards([2, 19]) == [[(0, 2), (1, 6)], [(1, 8)], [(1, 5)]]


def test_empty_households_get_no_card_and_no_page():
    assert paginate_cards([0, 0]) == []
    assert paginate_cards([0, 4, 0, 4]) == [[(1, 4), (3, 4)]]


def test_a_page_must_hold_a_card():
    with pytest.raises(ValueError, match="at least one card"):
        paginate_cards([1], per_page=0)


@given(st.lists(st.integers(min_value=0, max_value=30), max_size=40))
def test_every_card_is_placed_once_in_household_order_and_no_page_overflows(sizes):
    pages = paginate_cards(sizes)

    placed = [i for page in pages for i, n in page for _ in range(n)]
    assert placed == [i for i, n in enumerate(sizes) for _ in range(n)]
    assert all(0 < sum(n for _i, n in page) <= CARDS_PER_PAGE for page in pages)
    for i, n in enumerate(sizes):
        spans = sum(1 for page in pages if any(j == i for j, _n in page))
        if 0 < n <= CARDS_PER_PAGE:
            assert spans == 1, f"household {i} of {n} split over {spans} pages"


def test_a_masked_name_keeps_only_its_first_character():
    assert mask_name("张三丰") == "张**"
    assert mask_name("李") == "李*"
    assert mask_name(None) == ""
