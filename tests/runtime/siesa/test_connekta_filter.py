"""The `parametros` filter is built only from validated parts, so no value can change its meaning."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local.sim.connekta_params import parse_parametros
from runtime.siesa.connekta_filter import (
    FILTER_SHAPE,
    UnsafeFilter,
    build_filter,
    column_name,
    integer_literal,
    timestamp_literal,
)

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from connekta_helpers import SqlDatetime

BOGOTA = ZoneInfo("America/Bogota")


def _filter(since: Any = None, **parts: Any) -> str:
    values: dict[str, Any] = {
        "company_column": "f120_id_cia",
        "company_code": 1,
        "timestamp_column": "f120_ts",
        "since": since,
        "zone": BOGOTA,
    }
    values.update(parts)
    return build_filter(**values)


def test_an_initial_sync_filters_only_on_the_company() -> None:
    assert _filter() == "f120_id_cia = 1"


def test_an_incremental_sync_asks_in_the_erps_local_time() -> None:
    utc = datetime(2025, 1, 15, 15, 0, 0, tzinfo=UTC)
    assert _filter(utc) == "f120_ts >= '2025-01-15 10:00:00' AND f120_id_cia = 1"
    offset = datetime(2025, 1, 15, 10, 0, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert _filter(offset) == "f120_ts >= '2025-01-15 10:00:00' AND f120_id_cia = 1"
    naive = datetime(2025, 1, 15, 10, 0, 0)  # already ERP local time
    assert _filter(naive) == "f120_ts >= '2025-01-15 10:00:00' AND f120_id_cia = 1"


def test_fractions_are_dropped_so_the_bound_moves_back_never_forward() -> None:
    moment = datetime(2025, 1, 15, 10, 0, 0, 999_999, tzinfo=BOGOTA)
    assert timestamp_literal(moment, BOGOTA) == "'2025-01-15 10:00:00'"


def test_configured_columns_are_used() -> None:
    text = _filter(
        datetime(2025, 1, 2, 3, 4, 5),
        timestamp_column="fecha_cambio",
        company_column="cia",
        company_code=42,
    )
    assert text == "fecha_cambio >= '2025-01-02 03:04:05' AND cia = 42"


@pytest.mark.parametrize(
    "column",
    [
        "f120_ts >= '' OR 1=1 --",
        "f120_ts;DROP",
        "f120 ts",
        "f120_ts'",
        "1col",
        "",
        "f120_tś",
        "a" * 129,
    ],
)
def test_a_column_that_is_not_a_plain_identifier_is_refused(column: str) -> None:
    with pytest.raises(UnsafeFilter, match="not a plain identifier"):
        column_name(column)
    with pytest.raises(UnsafeFilter):
        _filter(datetime(2025, 1, 1), timestamp_column=column)
    with pytest.raises(UnsafeFilter):
        _filter(company_column=column)


@pytest.mark.parametrize("code", ["1 OR 1=1", "1", True, -1, 1.0, None])
def test_a_company_code_that_is_not_a_non_negative_int_is_refused(code: Any) -> None:
    with pytest.raises(UnsafeFilter, match="non-negative integer"):
        integer_literal(code)


class _SqlInt(int):
    """An int that formats itself as SQL: what a crafted company code would try."""

    def __str__(self) -> str:
        return "1 OR 1=1"

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return "1 OR 1=1"


def test_a_crafted_int_cannot_format_its_way_into_the_filter() -> None:
    with pytest.raises(UnsafeFilter):
        _filter(company_code=_SqlInt(1))


def test_a_crafted_datetime_is_written_from_its_numbers_not_its_text() -> None:
    crafted = SqlDatetime(2025, 1, 15, 10, 0, 0, tzinfo=BOGOTA)
    assert _filter(crafted) == "f120_ts >= '2025-01-15 10:00:00' AND f120_id_cia = 1"


@pytest.mark.parametrize("since", ["2025-01-01' OR '1'='1", 1736935200, b"2025-01-01"])
def test_a_timestamp_that_is_not_a_datetime_is_refused(since: Any) -> None:
    with pytest.raises(UnsafeFilter, match="must be a datetime"):
        _filter(since)


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(9998, 12, 30),
        timezones=st.sampled_from([UTC, BOGOTA, timezone(timedelta(hours=5, minutes=30))])
        | st.none(),  # type: ignore[arg-type]
    ),
    st.integers(min_value=0, max_value=10**17),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True),
)
def test_every_filter_has_the_one_shape_the_simulator_reads_back_the_same(
    since: datetime, code: int, column: str
) -> None:
    text = _filter(since, company_code=code, timestamp_column=column)
    assert FILTER_SHAPE.fullmatch(text)
    bound, company = parse_parametros(text)
    local = since.astimezone(BOGOTA).replace(tzinfo=None) if since.tzinfo else since
    assert (bound.column, bound.op, bound.value) == (column, ">=", local.replace(microsecond=0))
    assert (company.column, company.op, company.value) == ("f120_id_cia", "=", code)
