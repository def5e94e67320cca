"""EAN-13 and EPC codes, and the item rules the Kong and WMS simulators apply."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local.sim.codes import (
    break_ean13,
    ean13_check_digit,
    is_valid_ean13,
    random_ean13,
    random_epc,
)
from local.sim.rules import kong_product_error, wms_item_error


@pytest.mark.parametrize(
    "ean", ["4006381333931", "7501031311309", "5901234123457", "0000000000000"]
)
def test_known_good_ean13(ean: str) -> None:
    assert is_valid_ean13(ean)


@pytest.mark.parametrize(
    "value",
    ["4006381333932", "400638133393", "40063813339311", "ABCDEFGHIJKLM", None, 4006381333931],
)
def test_bad_ean13(value: object) -> None:
    assert not is_valid_ean13(value)


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_eans_are_valid_and_broken_ones_are_not(seed: int) -> None:
    rng = random.Random(seed)
    ean = random_ean13(rng)
    assert ean.startswith("770") and is_valid_ean13(ean)
    broken = break_ean13(ean)
    assert broken[:12] == ean[:12] and not is_valid_ean13(broken)


def test_check_digit_needs_12_digits() -> None:
    with pytest.raises(ValueError):
        ean13_check_digit("123")


def test_epc_is_24_uppercase_hex() -> None:
    tag = random_epc(random.Random(3))
    assert len(tag) == 24 and tag == tag.upper() and int(tag, 16) >= 0


def test_rules_refuse_non_objects() -> None:
    assert kong_product_error([1]) == "item must be a JSON object"
    assert wms_item_error("x", {"ZONE-A"}) == "item must be a JSON object"
