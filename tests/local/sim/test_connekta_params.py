"""The simulator reads `parametros` and `paginacion` strictly: only what the platform sends passes."""

from __future__ import annotations

from datetime import datetime

import pytest

from local.sim.connekta_params import (
    Condition,
    ParameterError,
    parse_paginacion,
    parse_parametros,
    parse_timestamp,
)


def test_the_two_condition_forms_joined_by_and() -> None:
    assert parse_parametros("f120_ts >= '2025-01-15 10:00:00' AND f120_id_cia = 1") == (
        Condition("f120_ts", ">=", datetime(2025, 1, 15, 10, 0, 0)),
        Condition("f120_id_cia", "=", 1),
    )
    assert parse_parametros("f120_id_cia=2 and f120_ts>='2025-01-15T10:00:00.1234567'") == (
        Condition("f120_id_cia", "=", 2),
        Condition("f120_ts", ">=", datetime(2025, 1, 15, 10, 0, 0, 123456)),
    )


@pytest.mark.parametrize("text", [None, "", "   "])
def test_no_filter(text: str | None) -> None:
    assert parse_parametros(text) == ()


@pytest.mark.parametrize(
    "text",
    [
        "f120_ts >= '2025-01-15 10:00:00' OR 1=1",
        "f120_ts >= '2025-01-15 10:00:00' OR '1'='1'",
        "f120_ts >= '2025-01-15 10:00:00'' OR ''1''=''1'",
        "f120_ts >= '2025-01-15' OR '1'='1'",
        "f120_id_cia = 1; DROP TABLE t120",
        "f120_id_cia = 1 --",
        "f120_id_cia = 1 /* x */",
        "f120_id_cia = (1)",
        "f120_id_cia = 1 OR f120_id_cia = 2",
        "f120_id_cia = '1'",
        "f120_ts >= 20250115",
        "f120_ts = '2025-01-15 10:00:00'",
        "f120_ts > '2025-01-15 10:00:00'",
        "f120_ts >= 'yesterday'",
        "f120_ts >= '2025-13-45 10:00:00'",
        "f120_id_cia = 1 AND",
        "AND f120_id_cia = 1",
        "f120_id_cia = 1 f120_id = 2",
        "f120_id_cia = 1\nAND f120_id = 2",
        "f120_id_cia",
        "1 = 1",
        "f120_id_cia = 1 AND AND = 2",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ParameterError, match="parametros no válidos"):
        parse_parametros(text)


def test_timestamps() -> None:
    assert parse_timestamp("2025-01-15T10:00:00") == datetime(2025, 1, 15, 10, 0, 0)
    assert parse_timestamp(" 2025-01-15 10:00:00.5 ") == datetime(2025, 1, 15, 10, 0, 0, 500000)
    assert parse_timestamp("2025-01-15") is None
    assert parse_timestamp("2025-02-30 10:00:00") is None


def test_paginacion() -> None:
    assert parse_paginacion("numPag=3|tamPag=1000") == (3, 1000)
    assert parse_paginacion(None) is None
    for bad in ("numPag=0|tamPag=10", "numPag=1|tamPag=0", "numPag=1", "numPag=1|tamPag=10|x"):
        with pytest.raises(ParameterError, match="paginacion"):
            parse_paginacion(bad)
    with pytest.raises(ParameterError, match="tamPag 1001 supera el máximo de 1000"):
        parse_paginacion("numPag=1|tamPag=1001")
