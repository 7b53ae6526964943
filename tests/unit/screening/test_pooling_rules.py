import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin.screening import rules
from tongxin.screening.rules import SealedPooling, Zone


def _cap(zone, key_group=False, sealed=SealedPooling.SINGLE):
    return rules.tube_capacity(
        zone=zone,
        key_group=key_group,
        sealed_pooling=sealed,
        controlled_pool=10,
        precaution_pool=20,
        key_group_pool=1,
    )


def test_capacity_follows_the_zone_and_key_groups_go_single():
    assert _cap(Zone.SEALED) == 1
    assert _cap(Zone.SEALED, sealed=SealedPooling.HOUSEHOLD) == rules.HOUSEHOLD_CAPACITY
    assert _cap(Zone.CONTROLLED) == 10
    assert _cap(Zone.PRECAUTION) == 20
    assert _cap(Zone.PRECAUTION, key_group=True) == 1


@pytest.mark.parametrize("size", [2, 30, 50, 0])
def test_repooling_and_unvalidated_sizes_are_rejected(size):
    with pytest.raises(rules.PoolingError):
        rules.check_pool_size(size)


@given(st.integers(0, 10**10 - 1), st.integers(0, 9), st.integers(1, 10))
def test_any_single_mistyped_digit_in_a_barcode_is_caught(n, digit, where):
    code = rules.tube_barcode(n)
    assert rules.is_tube_barcode(code)
    if code[where] != str(digit):
        typo = code[:where] + str(digit) + code[where + 1 :]
        assert not rules.is_tube_barcode(typo)
