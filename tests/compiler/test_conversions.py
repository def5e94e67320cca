"""Every type conversion rule of the language, as compiled modules apply them to ERP values.

The same rules run at compile time on defaults (compiler.prelude); these tests
go through a generated module so that what ships is what is tested.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from types import ModuleType

import pytest

from compiler import prelude
from compiler.pipeline import CompiledMapping

Compile = Callable[..., CompiledMapping]
Load = Callable[[CompiledMapping], ModuleType]

TYPES_MAP = """
field custom:s string optional <- f_s
field custom:i int optional <- f_i
field custom:d decimal optional <- f_d
field custom:b bool optional <- f_b
field custom:day date optional <- f_day
field custom:at datetime optional <- f_at
"""


@pytest.fixture(scope="module")
def types_module(compile_text: Compile, load: Load) -> ModuleType:
    return load(compile_text(TYPES_MAP))


def _convert(
    module: ModuleType, source: str, value: object
) -> tuple[object, list[dict[str, object]]]:
    canonical, issues = module.to_canonical({"f_codigo": "P1", source: value})
    field = {
        "f_s": "custom:s",
        "f_i": "custom:i",
        "f_d": "custom:d",
        "f_b": "custom:b",
        "f_day": "custom:day",
        "f_at": "custom:at",
    }[source]
    return (None if canonical is None else canonical[field]), issues


ACCEPTED = [
    # string: strings as they are; numbers as plain text
    ("f_s", "Camisa", "Camisa"),
    ("f_s", 123, "123"),
    ("f_s", 12.5, "12.5"),
    ("f_s", 12.0, "12"),
    ("f_s", 1e-7, "0.0000001"),
    # int: ints, integral floats, "100", "100.0", Colombian grouping
    ("f_i", 100, 100),
    ("f_i", 100.0, 100),
    ("f_i", "100", 100),
    ("f_i", "100.0", 100),
    ("f_i", " 42 ", 42),
    ("f_i", "-3", -3),
    ("f_i", "1.234.567", 1234567),
    ("f_i", "1.234,00", 1234),
    ("f_i", "0.000", 0),
    ("f_i", "1234.000", 1234),
    # decimal: plain and Colombian notation, canonical as plain text
    ("f_d", "1234.50", "1234.50"),
    ("f_d", "1.234,50", "1234.50"),
    ("f_d", "1.234.567,8", "1234567.8"),
    ("f_d", "100,5", "100.5"),
    ("f_d", 12.5, "12.5"),
    ("f_d", 7, "7"),
    ("f_d", "-0.25", "-0.25"),
    # bool: S/N, si/no, true/false, 1/0 in any case, JSON booleans, 1/0
    ("f_b", "S", True),
    ("f_b", "n", False),
    ("f_b", "Si", True),
    ("f_b", "sí", True),
    ("f_b", "NO", False),
    ("f_b", "true", True),
    ("f_b", "False", False),
    ("f_b", "1", True),
    ("f_b", "0", False),
    ("f_b", True, True),
    ("f_b", 0, False),
    ("f_b", 1, True),
    # date: YYYY-MM-DD
    ("f_day", "2025-01-15", "2025-01-15"),
    ("f_day", "2024-02-29", "2024-02-29"),
    # datetime: the ERP's local time (America/Bogota, UTC-5) or an explicit offset
    ("f_at", "2025-01-15 10:00:00", "2025-01-15T10:00:00-05:00"),
    ("f_at", "2025-01-15T23:59:59", "2025-01-15T23:59:59-05:00"),
    ("f_at", "2025-01-15 10:00:00.250", "2025-01-15T10:00:00.250000-05:00"),
    ("f_at", "2025-01-15T15:00:00Z", "2025-01-15T15:00:00+00:00"),
    ("f_at", "2025-07-01 08:30:00+02:00", "2025-07-01T08:30:00+02:00"),
]


@pytest.mark.parametrize(("source", "value", "expected"), ACCEPTED)
def test_value_is_converted(
    types_module: ModuleType, source: str, value: object, expected: object
) -> None:
    converted, issues = _convert(types_module, source, value)
    assert issues == []
    assert converted == expected
    assert type(converted) is type(expected)


REFUSED = [
    ("f_s", True, "is a boolean, not a text"),
    ("f_s", {"a": 1}, "is an object, not a text"),
    ("f_i", "1.234", "ambiguous"),
    ("f_i", "12.5", "is not a whole number"),
    ("f_i", "1.234,50", "is not a whole number"),
    ("f_i", "diez", "is not a number"),
    ("f_i", "1_000", "is not a number"),
    ("f_i", "1,234.50", "is not a number"),
    ("f_i", True, "is a boolean, not an integer"),
    ("f_i", 2.5, "is not a whole number"),
    ("f_i", [1], "is a list, not an integer"),
    ("f_i", "٣", "is not a number"),
    ("f_d", "1.250", "ambiguous"),
    ("f_d", "NaN", "is not a number"),
    ("f_d", "1e5", "is not a number"),
    ("f_d", False, "is a boolean, not a decimal number"),
    ("f_b", "quizás", "is not a yes/no value"),
    ("f_b", 2, "is a number, not a yes/no value"),
    ("f_day", "15/01/2025", "is not a date (YYYY-MM-DD)"),
    ("f_day", "2025-02-30", "is not a date of the calendar"),
    ("f_day", 20250115, "is a number, not a date"),
    ("f_at", "2025-01-15", "is not a date-time"),
    ("f_at", "2025-01-15 25:00:00", "is not a date-time of the calendar"),
    ("f_at", "ayer", "is not a date-time"),
]


@pytest.mark.parametrize(("source", "value", "reason"), REFUSED)
def test_value_that_cannot_be_converted_rejects_the_record_with_its_reason(
    types_module: ModuleType, source: str, value: object, reason: str
) -> None:
    converted, issues = _convert(types_module, source, value)
    assert converted is None
    (issue,) = issues
    assert reason in str(issue["reason"])
    assert issue["value"] == value
    assert issue["record_id"] == "P1"
    assert (issue["severity"], issue["action"]) == ("error", "reject")


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_missing_values_are_null_without_every_string(
    types_module: ModuleType, missing: object
) -> None:
    # Without `every string | trim | empty_to_missing`, only null is missing: "" is a (bad) int.
    converted, issues = _convert(types_module, "f_i", missing)
    if missing is None:
        assert (converted, issues) == (None, [])
    else:
        assert issues and issues[0]["field"] == "custom:i"


def test_absent_fields_are_null_and_every_field_is_present(types_module: ModuleType) -> None:
    canonical, issues = types_module.to_canonical({"f_codigo": "P1"})
    assert issues == []
    assert canonical == {
        "id": "P1",
        "custom:s": None,
        "custom:i": None,
        "custom:d": None,
        "custom:b": None,
        "custom:day": None,
        "custom:at": None,
    }


def test_another_timezone_is_used_for_local_timestamps(compile_text: Compile, load: Load) -> None:
    source = 'version 1\nmapping t for kong\ntimezone "Europe/Madrid"\nfield id string required <- f_codigo\nfield custom:at datetime optional <- f_at\n'
    module = load(compile_text(source, head=False))
    canonical, _ = module.to_canonical({"f_codigo": "P", "f_at": "2025-07-01 12:00:00"})
    assert canonical["custom:at"] == "2025-07-01T12:00:00+02:00"


class TestPrelude:
    """The helpers themselves, for what is easier to see in isolation."""

    @pytest.mark.parametrize(
        "code", ["4006381333931", "1234567890128", "0000000000000", "5901234123457"]
    )
    def test_valid_ean13(self, code: str) -> None:
        assert prelude._ean13(code)

    @pytest.mark.parametrize(
        "code",
        [
            "1234567890123",
            "400638133393",
            "40063813339311",
            "400638133393a",
            "４００６３８１３３３９３１",
        ],
    )
    def test_invalid_ean13(self, code: str) -> None:
        assert not prelude._ean13(code)

    @pytest.mark.parametrize(
        "code", ["96385074", "036000291452", "4006381333931", "10614141000415"]
    )
    def test_valid_gtin_of_every_length(self, code: str) -> None:
        assert prelude._gtin(code)

    @pytest.mark.parametrize("code", ["96385075", "036000291453", "1234567", "123456789012345"])
    def test_invalid_gtin(self, code: str) -> None:
        assert not prelude._gtin(code)

    def test_decimal_text_keeps_the_digits_given(self) -> None:
        assert prelude._decimal_text(prelude._to_decimal("1.234,50")) == "1234.50"
        assert prelude._decimal_text(Decimal("1E+3")) == "1000"

    def test_huge_numbers_are_refused_not_crashed_on(self) -> None:
        with pytest.raises(prelude._Invalid):
            prelude._to_int("9" * 5000)
        with pytest.raises(prelude._Invalid):
            prelude._to_int(float("inf"))

    def test_record_id_is_the_first_id_source_present_trimmed(self) -> None:
        assert prelude._record_id({"a": "  ", "b": " P1 "}, ("a", "b")) == "P1"
        assert prelude._record_id({"a": 12.0}, ("a",)) == "12"
        assert prelude._record_id({}, ("a",)) is None
        assert prelude._record_id({"a": True}, ("a",)) is None
