"""The Connekta simulator over real loopback HTTP: both endpoints, its quirks, its refusals, its faults."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.sim.catalog import generate_catalog
from local.sim.connekta import (
    CUSTOM_PATH,
    DEFAULT_CONNI_KEY,
    DEFAULT_CONNI_TOKEN,
    DEFAULT_CUSTOM_QUERY,
    DEFAULT_ID_COMPANIA,
    DEFAULT_STANDARD_QUERY,
    STANDARD_PATH,
    ConnektaSim,
)
from local.sim.connekta_rows import item_number
from local.sim.server import SimServer

SIM_TESTS = Path(__file__).resolve().parent
if str(SIM_TESTS) not in sys.path:
    sys.path.insert(0, str(SIM_TESTS))
from sim_process import running_sim  # noqa: E402

HEADERS = {"ConniKey": DEFAULT_CONNI_KEY, "ConniToken": DEFAULT_CONNI_TOKEN}


def _params(**extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "idCompania": DEFAULT_ID_COMPANIA,
        "descripcion": DEFAULT_CUSTOM_QUERY,
    }
    params.update(extra)
    return params


@pytest.fixture
def tenant() -> Iterator[tuple[ConnektaSim, httpx.Client]]:
    """Two companies (40 and 25 items) whose item codes overlap, as two ERP companies' do."""
    sim = ConnektaSim(
        {
            1: generate_catalog(40, seed=1, client="cia-1"),
            2: generate_catalog(25, seed=2, client="cia-2"),
        }
    )
    with SimServer(sim.wsgi_app) as server, httpx.Client(base_url=server.url) as http:
        yield sim, http


def test_custom_rows_come_under_datos_and_standard_rows_under_table(
    tenant: tuple[ConnektaSim, httpx.Client],
) -> None:
    sim, http = tenant
    custom = http.get(CUSTOM_PATH, params=_params(), headers=HEADERS)
    standard = http.get(
        STANDARD_PATH, params=_params(descripcion=DEFAULT_STANDARD_QUERY), headers=HEADERS
    )
    assert custom.status_code == standard.status_code == 200
    assert custom.json()["codigo"] == 0 and list(custom.json()["detalle"]) == ["Datos"]
    assert list(standard.json()["detalle"]) == ["Table"]
    assert custom.json()["detalle"]["Datos"] == standard.json()["detalle"]["Table"] == sim.rows()


def test_rows_carry_every_company_padded_strings_and_integer_ids(
    tenant: tuple[ConnektaSim, httpx.Client],
) -> None:
    sim, http = tenant
    rows = http.get(CUSTOM_PATH, params=_params(), headers=HEADERS).json()["detalle"]["Datos"]
    assert Counter(row["f120_id_cia"] for row in rows) == {1: 40, 2: 25}
    assert {row["f120_id"] for row in rows if row["f120_id_cia"] == 2} <= {
        row["f120_id"] for row in rows if row["f120_id_cia"] == 1
    }, "both companies number their items from 1"
    catalog = sim.companies[1]
    for row in rows:
        assert isinstance(row["f120_id"], int)
        assert row["f120_referencia"].endswith(" ") and len(row["f120_referencia"]) >= 50
        assert "T" in row["f120_ts"]
    row = next(r for r in rows if r["f120_id_cia"] == 1 and r["f120_id"] == 7)
    record = catalog.get("PROD000007")
    assert record is not None
    assert row["f120_referencia"].rstrip() == record["f_referencia"].rstrip()
    assert row["f120_ts"].startswith(record["f_fecha_modificacion"].replace(" ", "T"))
    assert float(row["f400_cant_existencia_1"]) == float(str(record["f_cantidad"]))
    assert item_number(" PROD000123  ") == 123
    with pytest.raises(ValueError, match="ends in no digits"):
        item_number("ABC")


def test_parametros_filter_by_company_and_by_local_change_time(
    tenant: tuple[ConnektaSim, httpx.Client],
) -> None:
    sim, http = tenant
    company_2 = sim.rows(2)
    cut = sorted(row["f120_ts"][:19] for row in company_2)[10]
    answer = http.get(
        CUSTOM_PATH,
        params=_params(parametros=f"f120_ts >= '{cut.replace('T', ' ')}' AND f120_id_cia = 2"),
        headers=HEADERS,
    ).json()["detalle"]["Datos"]
    expected = [row for row in company_2 if row["f120_ts"][:19] >= cut]
    assert answer == expected and 0 < len(answer) < 25


def test_no_rows_and_past_the_last_page_answer_400_no_se_encontraron_registros(
    tenant: tuple[ConnektaSim, httpx.Client],
) -> None:
    _, http = tenant
    empty = http.get(
        CUSTOM_PATH, params=_params(parametros="f120_ts >= '2999-01-01 00:00:00'"), headers=HEADERS
    )
    assert empty.status_code == 400
    assert empty.json() == {"codigo": 1, "mensaje": "No se encontraron registros", "detalle": None}
    past = http.get(CUSTOM_PATH, params=_params(paginacion="numPag=20|tamPag=10"), headers=HEADERS)
    assert (past.status_code, past.json()["mensaje"]) == (400, "No se encontraron registros")


def test_no_rows_can_also_be_an_empty_200() -> None:
    sim = ConnektaSim(generate_catalog(3, seed=1), no_rows_status=200)
    with SimServer(sim.wsgi_app) as server:
        answer = httpx.get(
            server.url + CUSTOM_PATH,
            params=_params(paginacion="numPag=2|tamPag=10"),
            headers=HEADERS,
        )
    assert (answer.status_code, answer.json()["detalle"]) == (200, {"Datos": []})


def test_pages_overlap_and_shuffle_yet_cover_every_row(
    tenant: tuple[ConnektaSim, httpx.Client],
) -> None:
    sim, http = tenant
    seen: list[tuple[int, int]] = []
    pages = []
    number = 1
    while True:
        answer = http.get(
            CUSTOM_PATH, params=_params(paginacion=f"numPag={number}|tamPag=10"), headers=HEADERS
        )
        if answer.status_code == 400:
            break
        page = answer.json()["detalle"]["Datos"]
        pages.append(page)
        seen.extend((row["f120_id_cia"], row["f120_id"]) for row in page)
        number += 1
    every = {(row["f120_id_cia"], row["f120_id"]) for row in sim.rows()}
    assert set(seen) == every
    assert len(seen) > len(every), "rows at page edges come twice"
    base = [(row["f120_id_cia"], row["f120_id"]) for row in sim.rows()]
    assert any(
        [(r["f120_id_cia"], r["f120_id"]) for r in page] != base[i * 8 : i * 8 + 10]
        for i, page in enumerate(pages)
    )


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({}, {}),
        ({"ConniKey": DEFAULT_CONNI_KEY, "ConniToken": "another-token"}, {}),
        ({"ConniKey": "another-key", "ConniToken": DEFAULT_CONNI_TOKEN}, {}),
        (HEADERS, {"idCompania": DEFAULT_ID_COMPANIA + 1}),
    ],
)
def test_a_wrong_key_pair_or_tenant_answers_401(
    tenant: tuple[ConnektaSim, httpx.Client], headers: dict[str, str], params: dict[str, Any]
) -> None:
    _, http = tenant
    answer = http.get(CUSTOM_PATH, params=_params(**params), headers=headers)
    assert answer.status_code == 401
    assert "verifique si tiene permisos" in answer.json()["mensaje"]


def test_each_saved_query_has_its_own_key_pair() -> None:
    sim = ConnektaSim(
        generate_catalog(3, seed=1),
        credentials={
            DEFAULT_CUSTOM_QUERY: ("key-custom", "token-custom"),
            DEFAULT_STANDARD_QUERY: ("key-standard", "token-standard"),
        },
    )
    with SimServer(sim.wsgi_app) as server, httpx.Client(base_url=server.url) as http:
        custom_pair = {"ConniKey": "key-custom", "ConniToken": "token-custom"}
        assert http.get(CUSTOM_PATH, params=_params(), headers=custom_pair).status_code == 200
        standard = _params(descripcion=DEFAULT_STANDARD_QUERY)
        assert http.get(STANDARD_PATH, params=standard, headers=custom_pair).status_code == 401
        sim.revoke(DEFAULT_CUSTOM_QUERY)
        assert http.get(CUSTOM_PATH, params=_params(), headers=custom_pair).status_code == 401
        state = http.get("/_sim/state").text
    assert "key-" not in state and "token-" not in state


@pytest.mark.parametrize(
    ("path", "params", "says"),
    [
        (CUSTOM_PATH, {"descripcion": ""}, "descripcion es obligatorio"),
        (CUSTOM_PATH, {"descripcion": "OTRA"}, "No existe la consulta OTRA"),
        (CUSTOM_PATH, {"descripcion": DEFAULT_STANDARD_QUERY}, "No existe la consulta"),
        (CUSTOM_PATH, {"idCompania": "5001 OR 1=1"}, "idCompania debe ser un número"),
        (CUSTOM_PATH, {"paginacion": "numPag=1|tamPag=5000"}, "supera el máximo"),
        (CUSTOM_PATH, {"parametros": "f120_id_cia = 1 OR 1=1"}, "se esperaba AND"),
        (CUSTOM_PATH, {"parametros": "f120_ts >= '2025-01-01' OR '1'='1'"}, "no es una fecha"),
        (CUSTOM_PATH, {"parametros": "f999_x = 1"}, "El nombre de columna 'f999_x' no es válido"),
        (CUSTOM_PATH, {"parametros": "f120_id >= '2025-01-01 00:00:00'"}, "no admite >="),
    ],
)
def test_bad_requests_answer_400_saying_what_is_wrong(
    tenant: tuple[ConnektaSim, httpx.Client], path: str, params: dict[str, Any], says: str
) -> None:
    _, http = tenant
    answer = http.get(path, params=_params(**params), headers=HEADERS)
    assert answer.status_code == 400
    assert answer.json()["codigo"] == 1 and says in answer.json()["mensaje"]


def test_a_company_filter_can_be_ignored_as_some_saved_queries_do() -> None:
    sim = ConnektaSim(
        {1: generate_catalog(4, seed=1), 2: generate_catalog(3, seed=2)}, ignore_company_filter=True
    )
    with SimServer(sim.wsgi_app) as server:
        rows = httpx.get(
            server.url + CUSTOM_PATH, params=_params(parametros="f120_id_cia = 1"), headers=HEADERS
        ).json()["detalle"]["Datos"]
    assert Counter(row["f120_id_cia"] for row in rows) == {1: 4, 2: 3}


def test_the_fault_knobs_apply(tenant: tuple[ConnektaSim, httpx.Client]) -> None:
    sim, http = tenant
    sim.faults.set(error_503_next=1, rate_limit_next=1, retry_after=7)
    assert http.get(CUSTOM_PATH, params=_params(), headers=HEADERS).status_code == 429
    assert http.get(CUSTOM_PATH, params=_params(), headers=HEADERS).status_code == 503
    assert http.get(CUSTOM_PATH, params=_params(), headers=HEADERS).status_code == 200
    http.post("/_sim/faults", json={"move_record_after_page": 1})
    first = http.get(CUSTOM_PATH, params=_params(paginacion="numPag=1|tamPag=10"), headers=HEADERS)
    (event,) = http.get("/_sim/faults").json()["events"]
    moved = [
        row
        for row in sim.rows()
        if (row["f120_id_cia"], row["f120_id"]) == (event["company"], event["id"])
    ]
    assert (event["id"], event["company"]) in {
        (row["f120_id"], row["f120_id_cia"]) for row in first.json()["detalle"]["Datos"]
    }
    assert moved == [sim.rows()[-1]], "the changed row sorts last now"
    assert [e.status for e in sim.log.entries()] == [429, 503, 200, 200]


def test_a_rate_limit_answers_429_with_retry_after() -> None:
    clock = [0.0]
    sim = ConnektaSim(generate_catalog(3, seed=1), rate_limit=2, clock=lambda: clock[0])
    with SimServer(sim.wsgi_app) as server, httpx.Client(base_url=server.url) as http:
        statuses = [http.get(CUSTOM_PATH, params=_params(), headers=HEADERS) for _ in range(3)]
    assert [a.status_code for a in statuses] == [200, 200, 429]
    assert statuses[2].headers["Retry-After"] == "60"


def test_siesa_sim_siesa_dialect_connekta_serves_several_companies() -> None:
    args = ["siesa", "--dialect", "connekta", "--products", "12", "--companies", "3"]
    args += ["--conni-key", "k-9", "--conni-token", "t-9", "--id-compania", "77"]
    with running_sim(*args) as url:
        pair = {"ConniKey": "k-9", "ConniToken": "t-9"}
        answer = httpx.get(url + CUSTOM_PATH, params=_params(idCompania=77), headers=pair)
        assert Counter(row["f120_id_cia"] for row in answer.json()["detalle"]["Datos"]) == {
            1: 12,
            2: 12,
            3: 12,
        }
        assert httpx.get(url + CUSTOM_PATH, params=_params(idCompania=77)).status_code == 401
