"""contract.jsontext: JSON floats read as Decimals and written back with the same digits."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.jsontext import dumps, loads

BIG = "12345678901234567890.125"


def test_a_long_float_keeps_every_digit_through_loads_and_dumps() -> None:
    value = loads(f'{{"f_precio": {BIG}}}')
    assert value == {"f_precio": Decimal(BIG)}
    assert dumps(value) == f'{{"f_precio":{BIG}}}'


@pytest.mark.parametrize(
    "text",
    ["12.50", "-0.00", "0.1", "1.5E+10", "1E-7", "-3.14159265358979323846264338327950288"],
)
def test_a_decimal_is_written_as_a_json_number_with_its_own_digits(text: str) -> None:
    written = dumps([Decimal(text)])
    assert written == f"[{text}]"
    assert loads(written) == [Decimal(text)]
    assert str(loads(written)[0]) == text


def test_integers_stay_integers_and_text_stays_text() -> None:
    value = loads('{"n": 100, "s": "12.50", "b": true, "z": null, "big": 123456789012345678901}')
    assert value == {"n": 100, "s": "12.50", "b": True, "z": None, "big": 123456789012345678901}
    assert type(value["n"]) is int


def test_nested_values_with_decimals_lay_out_as_json_dumps_does() -> None:
    document: dict[str, Any] = {
        "id": "P1",
        "ñ": 'café \u2028 "q" \\ \n',
        "items": [{"price": Decimal("1.10")}, (1, None, False), [], {}],
        "ratio": 0.5,
        3: "int key",
    }
    plain = {**document, "items": [{"price": 1.1}, [1, None, False], [], {}]}
    assert dumps(document) == json.dumps(plain, ensure_ascii=False, separators=(",", ":")).replace(
        "1.1", "1.10"
    )
    assert dumps(document, indent=1) == json.dumps(plain, ensure_ascii=False, indent=1).replace(
        "1.1", "1.10"
    )


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), float("nan"), float("inf")]
)
def test_non_finite_numbers_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"not a finite number|Out of range"):
        dumps({"x": [value, Decimal("1.5")]})
    with pytest.raises(ValueError):
        dumps({"x": value})


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", '{"a": NaN}'])
def test_non_standard_constants_are_refused_on_reading(text: str) -> None:
    with pytest.raises(ValueError, match="not a JSON number"):
        loads(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2.50, "ñ"]}'.encode(),
        '{"a": [1, 2.50, "ñ"]}'.encode("utf-16"),
        '{"a": [1, 2.50, "ñ"]}'.encode("utf-8-sig"),
        bytearray(b'{"a": 1}'),
        '{"a": "\\ud800"}',
    ],
)
def test_text_and_bytes_read_as_json_loads_reads_them(text: str | bytes | bytearray) -> None:
    expected = json.loads(text, parse_float=Decimal)
    assert loads(text) == expected
    assert loads(text) is not loads(text)  # a fresh value each time, nothing shared


def test_a_byte_order_mark_in_text_is_refused_as_json_loads_refuses_it() -> None:
    with pytest.raises(json.JSONDecodeError, match="BOM"):
        loads('\ufeff{"a": 1}')


def test_values_json_cannot_hold_are_refused() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        dumps({"a": Decimal("1.5"), "b": {1, 2}})
    with pytest.raises(TypeError, match="keys must be"):
        dumps({(1, 2): Decimal("1.5")})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@given(json_values)
def test_every_value_reads_back_equal_and_as_valid_json(value: Any) -> None:
    """Floats are left out: they read back as the Decimal of their repr, not as floats."""
    for indent in (None, 2):
        written = dumps(value, indent=indent)
        assert loads(written) == value
        json.loads(written)  # strict JSON a plain reader accepts too


def test_keys_can_be_sorted_as_json_dumps_sorts_them() -> None:
    document = {"b": Decimal("2.50"), "a": {"d": 1, "c": [Decimal("1")]}}
    assert dumps(document, indent=2, sort_keys=True) == json.dumps(
        {"a": {"c": [1], "d": 1}, "b": 2.5}, indent=2, sort_keys=True
    ).replace("2.5", "2.50")
