"""The Connekta source against the simulator (and a scripted server) over real loopback HTTP."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr, ValidationError

from local.sim.catalog import generate_catalog
from local.sim.connekta import CUSTOM_PATH, DEFAULT_STANDARD_QUERY, ConnektaSim
from local.sim.server import SimServer
from runtime.config import StockSettings
from runtime.errors import (
    InvalidClientConfig,
    InvalidSecret,
    SiesaAuthError,
    SiesaResponseError,
    SiesaUnavailable,
)
from runtime.http import ApiCall
from runtime.siesa import make_source
from runtime.siesa.connekta import MAX_PASSES, company_number, key_text, timestamp_text
from runtime.siesa.connekta_filter import UnsafeFilter

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from connekta_helpers import (
    KEY_CANARY,
    TOKEN_CANARY,
    Sleeps,
    SqlDatetime,
    all_rows,
    connekta_config,
    credentials,
    quiet_budget,
    serving,
    source,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def _tenant(**options: Any) -> ConnektaSim:
    """Company 1 (60 items) and company 2 (45 items) of one tenant; item ids overlap."""
    return ConnektaSim(
        {
            1: generate_catalog(60, seed=4, client="cia-1"),
            2: generate_catalog(45, seed=5, client="cia-2"),
        },
        **options,
    )


def _queries(sim: ConnektaSim) -> list[dict[str, list[str]]]:
    return [parse_qs(entry.query) for entry in sim.log.entries()]


# --- paging, companies, endpoints ---------------------------------------------------------------


def test_pages_until_no_se_encontraron_registros_keeping_only_the_clients_company() -> None:
    sim = _tenant()
    with serving(sim) as url, source(url, page_size=25) as src:
        rows = all_rows(src)
    expected = {row["f120_id"] for row in sim.rows(1)}
    assert {src.record_key(row) for row in rows} == {str(n) for n in expected}
    assert all(row["f120_id_cia"] == 1 for row in rows)
    assert len(rows) > 60, "the simulator's overlapping pages send edge rows twice"
    queries = _queries(sim)
    assert [q["paginacion"] for q in queries] == [[f"numPag={n}|tamPag=25"] for n in (1, 2, 3, 4)]
    assert [entry.status for entry in sim.log.entries()] == [200, 200, 200, 400]
    assert all(
        (q["idCompania"], q["descripcion"], q["parametros"])
        == (["5001"], ["INTEGRACION_ITEMS"], ["f120_id_cia = 1"])
        for q in queries
    )


def test_rows_of_other_companies_are_dropped_when_the_query_ignores_the_company_filter() -> None:
    sim = _tenant(ignore_company_filter=True)
    with serving(sim) as url, source(url, page_size=30) as src:
        rows = all_rows(src)
    assert rows and all(row["f120_id_cia"] == 1 for row in rows)
    assert {src.record_key(row) for row in rows} == {str(row["f120_id"]) for row in sim.rows(1)}
    assert src.rows_of_other_companies >= 45
    assert src.rows_seen == len(rows) + src.rows_of_other_companies


def test_company_2_of_the_same_tenant_gets_its_own_rows() -> None:
    sim = _tenant(ignore_company_filter=True)
    with serving(sim) as url, source(url, connekta={"company_code": 2}) as src:
        rows = all_rows(src)
    assert sorted(rows, key=lambda row: row["f120_id"]) == sorted(
        sim.rows(2), key=lambda row: row["f120_id"]
    )


def test_the_standard_endpoint_reads_detalle_table() -> None:
    sim = _tenant()
    settings = {"endpoint": "standard", "query": DEFAULT_STANDARD_QUERY}
    with serving(sim) as url, source(url, connekta=settings) as src:
        rows = all_rows(src)
    assert len({src.record_key(row) for row in rows}) == 60
    assert {entry.path for entry in sim.log.entries()} == {"/api/siesa/v3/ejecutarconsultaestandar"}


def test_an_empty_200_also_ends_the_rows() -> None:
    sim = _tenant(no_rows_status=200)
    with serving(sim) as url, source(url, page_size=50) as src:
        rows = all_rows(src)
    assert len({src.record_key(row) for row in rows}) == 60
    assert [entry.status for entry in sim.log.entries()] == [200, 200, 200]


def test_no_rows_at_all_is_an_empty_sync_not_an_error() -> None:
    sim = _tenant()
    with serving(sim) as url, source(url) as src:
        assert all_rows(src, datetime(2999, 1, 1, tzinfo=UTC)) == []
    assert [entry.status for entry in sim.log.entries()] == [400]


def test_an_incremental_sync_filters_on_the_erps_local_time() -> None:
    sim = _tenant()
    stamps = sorted(row["f120_ts"][:19] for row in sim.rows(1))
    cut = datetime.fromisoformat(stamps[40] + "-05:00")
    with serving(sim) as url, source(url) as src:
        rows = all_rows(src, cut.astimezone(UTC))
    (query,) = _queries(sim)[:1]
    assert query["parametros"] == [
        f"f120_ts >= '{stamps[40].replace('T', ' ')}' AND f120_id_cia = 1"
    ]
    assert {row["f120_id"] for row in rows} == {
        row["f120_id"] for row in sim.rows(1) if row["f120_ts"][:19] >= stamps[40]
    }


def test_a_record_changed_while_paging_makes_a_second_pass_so_no_row_is_missed() -> None:
    # Offset paging: the changed row moves to the end and the row after page 1
    # slips back onto page 1, already read. A second pass catches it.
    sim = _tenant(shuffle_pages=False, page_overlap=0)
    sim.faults.set(move_record_after_page=1)
    with serving(sim) as url, source(url, page_size=20) as src:
        rows = all_rows(src)
    (event,) = sim.faults.snapshot()["events"]
    assert {row["f120_id"] for row in rows} == {row["f120_id"] for row in sim.rows(1)}
    assert [entry.status for entry in sim.log.entries()].count(400) == 2, "two passes"
    copies = [row for row in rows if row["f120_id"] == event["id"]]
    assert [src.record_modified(row) for row in copies] == sorted(
        src.record_modified(row) for row in copies
    )
    assert copies[-1]["f120_ts"].startswith(event["f_fecha_modificacion"].replace(" ", "T"))


def test_rows_that_keep_changing_stop_after_the_last_pass_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = _tenant(shuffle_pages=False, page_overlap=0)
    sim.faults.set(move_record_after_page=1)

    def rearm(call: ApiCall) -> None:  # a row changes during every pass
        if call.status == 400:
            sim.faults.set(move_record_after_page=1)

    with (
        serving(sim) as url,
        source(url, page_size=20, on_latency=rearm) as src,
        caplog.at_level("INFO", logger="runtime.siesa.connekta"),
    ):
        rows = all_rows(src)
    assert [entry.status for entry in sim.log.entries()].count(400) == MAX_PASSES
    assert len(sim.faults.snapshot()["events"]) == MAX_PASSES
    assert any(r.levelname == "WARNING" and "next sync" in r.getMessage() for r in caplog.records)
    assert {row["f120_id"] for row in rows} == {row["f120_id"] for row in sim.rows(1)}


def test_overlapping_pages_alone_need_no_second_pass() -> None:
    sim = _tenant(page_overlap=3)
    with serving(sim) as url, source(url, page_size=20) as src:
        all_rows(src)
    assert [entry.status for entry in sim.log.entries()].count(400) == 1


# --- the parametros injection attempts ------------------------------------------------------------


def test_a_crafted_timestamp_reaches_the_erp_as_a_plain_literal() -> None:
    sim = _tenant()
    crafted = SqlDatetime(2025, 1, 7, 9, 30, 0, tzinfo=UTC)
    with serving(sim) as url, source(url) as src:
        rows = all_rows(src, crafted)
    sent = {q["parametros"][0] for q in _queries(sim)}
    assert sent == {"f120_ts >= '2025-01-07 04:30:00' AND f120_id_cia = 1"}
    assert all(row["f120_ts"][:19] >= "2025-01-07T04:30:00" for row in rows)
    assert all(row["f120_id_cia"] == 1 for row in rows)


@pytest.mark.parametrize("crafted", ["2025-01-01' OR '1'='1", 0])
def test_a_timestamp_that_is_not_a_datetime_never_leaves_the_platform(crafted: Any) -> None:
    sim = _tenant()
    with serving(sim) as url, source(url) as src, pytest.raises(UnsafeFilter):
        all_rows(src, crafted)
    assert sim.log.entries() == []


def test_a_crafted_company_code_never_leaves_the_platform() -> None:
    sim = _tenant()
    with serving(sim) as url, source(url) as src:
        src.settings = src.settings.model_copy(update={"company_code": "1 OR 1=1"})
        with pytest.raises(UnsafeFilter, match="non-negative integer"):
            all_rows(src)
    assert sim.log.entries() == []


# --- errors -----------------------------------------------------------------------------------


def test_a_wrong_key_pair_is_a_clear_authentication_error_without_the_secret() -> None:
    sim = _tenant()
    with (
        serving(sim) as url,
        source(url, creds=credentials(KEY_CANARY, TOKEN_CANARY)) as src,
        pytest.raises(SiesaAuthError) as caught,
    ):
        all_rows(src)
    text = str(caught.value)
    assert text.startswith(
        "the ConniKey/ConniToken pair was refused for query INTEGRACION_ITEMS (idCompania 5001)"
    )
    assert "siesa-integration/cliente-c/siesa" in text and "answered 401" in text
    assert KEY_CANARY not in text and TOKEN_CANARY not in text
    assert KEY_CANARY not in repr(caught.value.__cause__)
    assert len(sim.log.entries()) == 1, "refused credentials are never retried"


def test_credentials_revoked_mid_run_stop_the_run() -> None:
    sim = _tenant()
    sim.faults.set(revoke_from_request=2)
    with serving(sim) as url, source(url, page_size=20) as src, pytest.raises(SiesaAuthError):
        all_rows(src)
    assert [entry.status for entry in sim.log.entries()] == [200, 401]


def test_missing_connekta_credentials_are_an_invalid_secret() -> None:
    with pytest.raises(InvalidSecret, match="needs conni_key and conni_token"):
        source("http://127.0.0.1:9", creds=credentials().model_copy(update={"conni_token": None}))
    blank = credentials().model_copy(update={"conni_key": SecretStr("")})
    with pytest.raises(InvalidSecret, match="empty conni_key or conni_token"):
        source("http://127.0.0.1:9", creds=blank)


def test_a_conni_key_with_whitespace_around_it_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="conni_key") as caught:
        credentials(key="conni-key-value\n")
    assert "conni-key-value" not in str(caught.value)


def test_transient_failures_are_retried_with_backoff_and_429_waits_retry_after() -> None:
    sim = _tenant()
    sim.faults.set(
        error_503_next=2,
        rate_limit_next=1,
        retry_after=7,
        drop_connection_next=1,
        malformed_json_next=1,
    )
    sleeps = Sleeps()
    with serving(sim) as url, source(url, sleep=sleeps) as src:
        rows = all_rows(src)
    assert len({src.record_key(row) for row in rows}) == 60
    # 429, 503, 503, a dropped connection, a truncated body, then the page and the end
    assert [entry.status for entry in sim.log.entries()] == [429, 503, 503, 200, 200, 200, 400]
    assert sleeps.waits[0] == 7
    assert len(sleeps.waits) == 5


def test_every_request_takes_one_unit_of_the_clients_budget_and_reports_its_latency() -> None:
    sim = _tenant()
    budget = quiet_budget()
    calls: list[ApiCall] = []
    with (
        serving(sim) as url,
        source(url, page_size=25, budget=budget, on_latency=calls.append) as src,
    ):
        all_rows(src)
    assert budget.in_window("cliente-c") == len(sim.log.entries()) == 4
    assert [(c.api, c.status, c.outcome) for c in calls] == [
        ("Siesa", 200, "ok"),
        ("Siesa", 200, "ok"),
        ("Siesa", 200, "ok"),
        ("Siesa", 400, "error"),
    ]
    assert {c.operation for c in calls} == {f"GET {CUSTOM_PATH}"}


# --- a scripted server, for answers the simulator never gives -------------------------------------


class Scripted:
    """A WSGI app answering a fixed list of (status, JSON body), the last one repeated."""

    def __init__(self, answers: Iterable[tuple[int, Any]]) -> None:
        self.answers = list(answers)
        self.queries: list[str] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        self.queries.append(environ.get("QUERY_STRING", ""))
        status, body = self.answers[min(len(self.queries), len(self.answers)) - 1]
        data = json.dumps(body).encode()
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [data]


@contextmanager
def scripted(*answers: tuple[int, Any]) -> Iterator[tuple[Scripted, str]]:
    app = Scripted(answers)
    with SimServer(app) as server:
        yield app, server.url


def _page(*ids: int, key: str = "Datos", company: int = 1) -> dict[str, Any]:
    rows = [{"f120_id": n, "f120_id_cia": company, "f120_ts": "2025-01-15T10:00:00"} for n in ids]
    return {"codigo": 0, "mensaje": "", "detalle": {key: rows}}


def test_another_400_says_what_the_server_said_minus_the_secrets() -> None:
    refusal = {"codigo": 1, "mensaje": f"Sintaxis incorrecta cerca de 'X' (token {TOKEN_CANARY})"}
    with (
        scripted((400, refusal)) as (app, url),
        source(url, creds=credentials(KEY_CANARY, TOKEN_CANARY)) as src,
        pytest.raises(SiesaResponseError) as caught,
    ):
        all_rows(src)
    text = str(caught.value)
    assert "refused the request for query INTEGRACION_ITEMS" in text
    assert "Sintaxis incorrecta cerca de 'X' (token [redacted])" in text
    assert TOKEN_CANARY not in text and len(app.queries) == 1


def test_a_500_that_asks_to_check_permissions_is_an_authentication_error() -> None:
    denied = {"codigo": 1, "mensaje": "Error: verifique si tiene permisos"}
    with (
        scripted((500, denied)) as (app, url),
        source(url) as src,
        pytest.raises(SiesaAuthError, match="pair was refused"),
    ):
        all_rows(src)
    assert len(app.queries) == 1


def test_a_plain_500_is_retried_then_unavailable() -> None:
    with (
        scripted((500, {"codigo": 1, "mensaje": "Error interno"})) as (app, url),
        source(url) as src,
        pytest.raises(SiesaUnavailable, match="answered 500: Error interno"),
    ):
        all_rows(src)
    assert len(app.queries) == 6


def test_rows_under_the_other_endpoints_key_say_how_to_fix_the_config() -> None:
    fix = r"set the client's connekta\.endpoint to 'standard'"
    with (
        scripted((200, _page(1, 2, key="Table"))) as (_, url),
        source(url) as src,
        pytest.raises(SiesaResponseError, match=fix),
    ):
        all_rows(src)


def test_a_server_that_ignores_paginacion_is_stopped() -> None:
    with (
        scripted((200, _page(1, 2, 3))) as (app, url),
        source(url, page_size=3) as src,
        pytest.raises(SiesaResponseError, match="ignores paginacion"),
    ):
        all_rows(src)
    assert len(app.queries) == 2


def test_a_row_without_a_company_cannot_be_kept() -> None:
    row = {"f120_id": 5, "f120_ts": "2025-01-15T10:00:00"}
    answer = {"codigo": 0, "detalle": {"Datos": [row]}}
    with (
        scripted((200, answer)) as (_, url),
        source(url) as src,
        pytest.raises(SiesaResponseError, match="without a whole-number f120_id_cia"),
    ):
        all_rows(src)


def test_a_200_with_a_no_rows_codigo_ends_and_other_codigos_are_errors() -> None:
    no_rows = {"codigo": 1, "mensaje": "No se encontraron registros.", "detalle": None}
    with scripted((200, _page(1)), (200, no_rows)) as (app, url), source(url) as src:
        assert [row["f120_id"] for row in all_rows(src)] == [1]
    assert len(app.queries) == 2
    failing = {"codigo": 9, "mensaje": "Consulta deshabilitada"}
    with (
        scripted((200, failing)) as (_, url),
        source(url) as src,
        pytest.raises(SiesaResponseError, match=r"codigo 9 .*Consulta deshabilitada"),
    ):
        all_rows(src)


def test_malformed_rows_are_retried_as_a_malformed_page() -> None:
    broken = {"codigo": 0, "detalle": {"Datos": ["not", "rows"]}}
    with (
        scripted((200, broken)) as (app, url),
        source(url) as src,
        pytest.raises(SiesaUnavailable, match="not a list of objects"),
    ):
        all_rows(src)
    assert len(app.queries) == 6


# --- keys and timestamps ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (123, "123"),
        (123.0, "123"),
        (" 0123  ", "0123"),
        (12.5, "12.5"),
        (Decimal("123.0"), "123"),
        (Decimal("12.50"), "12.50"),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_keys_are_written_as_the_mappings_write_ids(value: Any, key: str | None) -> None:
    assert key_text(value) == key


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2025-01-15T10:00:00", "2025-01-15 10:00:00.000000"),
        ("2025-01-15 10:00:00.5", "2025-01-15 10:00:00.500000"),
        ("2025-01-15T10:00:00.1234567", "2025-01-15 10:00:00.123456"),
        ("15/01/2025", ""),
        (None, ""),
    ],
)
def test_timestamps_become_one_fixed_width_form_that_sorts_in_time_order(
    value: Any, text: str
) -> None:
    assert timestamp_text(value) == text


def test_company_numbers() -> None:
    assert [
        company_number(v) for v in (1, 1.0, Decimal("1.0"), " 001 ", "1.5", True, None, "١")
    ] == [
        1,
        1,
        1,
        1,
        None,
        None,
        None,
        None,
    ]


def test_record_key_refuses_a_row_without_an_id() -> None:
    with (
        source("http://127.0.0.1:9") as src,
        pytest.raises(SiesaResponseError, match="without a f120_id"),
    ):
        src.record_key({"f120_ts": "2025-01-15T10:00:00"})


# --- stock-only syncs: the saved query's stock column -----------------------------------------


def test_a_stock_sync_reads_the_stock_column_the_config_names_or_is_refused() -> None:
    sim = _tenant()
    with serving(sim) as url:
        config = connekta_config(url).model_copy(
            update={"stock": StockSettings(connekta_column="f400_cant_existencia_1")}
        )
        with make_source(config, credentials(), budget=quiet_budget(), sleep=Sleeps()) as src:
            rows = [row for page in src.iter_stock_pages() for row in page]
        with source(url) as unnamed, pytest.raises(InvalidClientConfig, match="connekta_column"):
            next(unnamed.iter_stock_pages())
    erp = {str(row["f120_id"]): row for row in sim.rows(1)}
    assert {row["f_codigo"] for row in rows} == set(erp)
    for row in rows:
        assert row["f_cantidad"] == erp[row["f_codigo"]]["f400_cant_existencia_1"]
        assert row["f_bodega"] == (key_text(erp[row["f_codigo"]].get("f150_id")) or "")
