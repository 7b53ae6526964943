"""The ledger's JSON boundary: strict parsing in, exact and compact encoding out."""

from __future__ import annotations

import gc
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin.screening.bulk import dump_json, relaxed_gc
from tongxin.screening.ledger import load_json


@pytest.mark.parametrize(
    "text", ['{"ct": NaN}', '{"ct": Infinity}', "[-Infinity]", '{"ct": 1e999}']
)
def test_numbers_no_json_column_can_hold_are_refused(text):
    with pytest.raises(ValueError):
        load_json(text)


def test_a_huge_integer_survives_parsing_and_encoding_exactly():
    value = load_json('{"n": 1180591620717411303424, "x": 1.5}')
    assert value == {"n": 2**70, "x": 1.5}
    assert json.loads(dump_json(value)) == value


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**100), max_value=2**100)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_encoding_then_parsing_gives_back_the_same_value(value):
    assert load_json(dump_json(value)) == value


def test_relaxed_gc_spaces_collections_and_restores_the_threshold():
    before = gc.get_threshold()
    with relaxed_gc(threshold=12_345):
        assert gc.get_threshold()[0] == 12_345
    assert gc.get_threshold() == before
