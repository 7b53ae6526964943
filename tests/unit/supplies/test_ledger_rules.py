"""The stock ledger's pure rules: on hand is the sum of movements and never negative."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin.supplies import rules
from tongxin.supplies.rules import LotStock, Move, SuppliesError

POSITIONS = [(w, 1, lot, b) for w in (1, 2) for lot in (1, 2, 3) for b in ("free", "allocated")]

operation = st.lists(
    st.tuples(st.sampled_from(POSITIONS), st.integers(min_value=-5000, max_value=5000)),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=40))
def test_on_hand_is_the_sum_of_accepted_moves_and_never_negative(operations):
    on_hand: dict = {}
    ledger: list[Move] = []
    for op in operations:
        moves = [Move(p, q) for p, q in op]
        try:
            on_hand = rules.apply_moves(on_hand, moves)
        except SuppliesError as refused:
            assert refused.code == "insufficient_stock"
            continue
        ledger += moves
    for position in POSITIONS:
        summed = sum(m.milli for m in ledger if m.position == position)
        assert on_hand.get(position, 0) == summed
        assert summed >= 0


def test_a_refused_operation_leaves_the_balances_as_they_were():
    start = {(1, 1, 1, "free"): 5000}
    with pytest.raises(SuppliesError):
        rules.apply_moves(start, [Move((1, 1, 1, "free"), -3000), Move((1, 1, 1, "free"), -3000)])
    assert start == {(1, 1, 1, "free"): 5000}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.dates(date(2022, 9, 1), date(2022, 12, 31))),
            st.integers(0, 9000),
        ),
        min_size=1,
        max_size=8,
    ),
    st.integers(1, 40000),
)
def test_fefo_takes_the_earliest_usable_expiry_first(lots, need):
    today = date(2022, 10, 1)
    stock = [LotStock(i, e, q) for i, (e, q) in enumerate(lots)]
    usable = [s for s in stock if s.milli > 0 and (s.expires_on is None or s.expires_on >= today)]
    if sum(s.milli for s in usable) < need:
        with pytest.raises(SuppliesError):
            rules.fefo_pick(stock, need, today=today)
        return
    picked = rules.fefo_pick(stock, need, today=today)
    assert sum(q for _, q in picked) == need
    by_id = {s.lot_id: s for s in stock}
    # Every lot taken from but the last is emptied, and nothing expiring sooner was left.
    for lot_id, q in picked[:-1]:
        assert q == by_id[lot_id].milli
    taken = {lot_id for lot_id, _ in picked}
    last = by_id[picked[-1][0]]
    for s in usable:
        if s.lot_id not in taken and last.expires_on is not None:
            assert s.expires_on is None or s.expires_on >= last.expires_on


@pytest.mark.parametrize(
    ("quantity", "unit", "stock", "oxygen", "milli"),
    [
        ("40", "t", "kg", False, 40_000_000),
        ("2.5", "kg", "kg", False, 2_500),
        ("1500", "litre", "m3", False, 1_500),
        ("70", "t", "m3", True, 70 * 751 * 1000),
        ("667", "bottle", "m3", True, 667 * 6 * 1000),
    ],
)
def test_physical_conversions_go_to_the_stock_unit(quantity, unit, stock, oxygen, milli):
    got = rules.to_stock_milli(
        rules.parse_quantity(quantity),
        rules.parse_unit(unit),
        stock_unit=rules.Unit(stock),
        oxygen=oxygen,
        factors=rules.Factors(),
    )
    assert got == milli


def test_tonnes_of_vegetables_do_not_become_gas():
    with pytest.raises(SuppliesError) as caught:
        rules.to_stock_milli(
            rules.parse_quantity("1"),
            rules.Unit.T,
            stock_unit=rules.Unit.M3,
            oxygen=False,
            factors=rules.Factors(),
        )
    assert caught.value.code == "unit_mismatch"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("0", "negative_quantity"),
        ("-1", "negative_quantity"),
        ("NaN", "bad_quantity"),
        ("x", "bad_quantity"),
    ],
)
def test_quantities_must_be_positive_numbers(raw, code):
    with pytest.raises(SuppliesError) as caught:
        rules.parse_quantity(raw, where="line 3.quantity")
    assert (caught.value.code, caught.value.where) == (code, "line 3.quantity")


def test_an_unknown_unit_names_the_known_ones():
    with pytest.raises(SuppliesError) as caught:
        rules.parse_unit("斤")
    assert caught.value.code == "unknown_unit"
    assert "kg" in caught.value.message


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.integers(1, 500), st.integers(1, 9), min_size=1, max_size=60),
    st.integers(0, 300),
)
def test_the_split_by_size_gives_everyone_one_and_adds_up(sizes, extra):
    total = len(sizes) + extra
    shares = rules.split_by_size(total, sizes)
    assert sum(shares.values()) == total
    assert min(shares.values()) >= 1
    people = sum(sizes.values())
    for hid, size in sizes.items():
        assert abs(shares[hid] - 1 - extra * size / people) < 1


def test_a_larger_household_never_gets_less():
    shares = rules.split_by_size(10, {1: 1, 2: 4, 3: 2})
    assert shares[2] >= shares[3] >= shares[1]
    assert sum(shares.values()) == 10


def test_households_in_need_are_ranked_bedridden_first_then_oldest_then_by_id():
    needy = [
        (1, "elderly_alone", date(1940, 5, 1)),
        (2, "bedridden", date(1960, 1, 1)),
        (3, "elderly_alone", date(1930, 1, 1)),
        (4, "bedridden", date(1950, 1, 1)),
        (5, "elderly_alone", date(1930, 1, 1)),
    ]

    assert [n[0] for n in rules.by_priority(needy, 3)] == [4, 2, 3]
    assert [n[0] for n in rules.by_priority(needy, None)] == [4, 2, 3, 5, 1]
    assert [n[0] for n in rules.by_priority(needy, 99)] == [4, 2, 3, 5, 1]


def test_a_household_limit_below_one_is_refused():
    with pytest.raises(SuppliesError) as err:
        rules.by_priority([(1, "bedridden", date(1950, 1, 1))], 0)
    assert err.value.code == "bad_quantity" and err.value.where == "limit"
