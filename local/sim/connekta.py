"""The Siesa ERP simulator, Connekta dialect (contracts/siesa-connekta.openapi.yaml).

GET {base}/api/siesa/v3/ejecutarconsultaestandar (rows under detalle.Table)
and {base}/api/connekta/v3/ejecutarconsulta (rows under detalle.Datos) over
one tenant (`idCompania`) holding one `Catalog` per ERP company. Every saved
query serves the same joined item rows (connekta_rows.py). A client's
`siesa_api_url` is `{server.url}`.

Connekta's quirks, on by default: strings padded with trailing spaces; rows
of every company of the tenant (unless `parametros` names the company); the
order of rows across pages not stable (each page starts `page_overlap` rows
before the previous one ended, and rows come shuffled within a page, so a
row shows up on two pages); 400 "No se encontraron registros" for no rows
and past the last page; 401 for a ConniKey/ConniToken pair that is not the
query's. `parametros` is parsed strictly (connekta_params.py). The fault
knobs of faults.py apply as on the REST simulator, `move_record_after_page`
included.
"""

from __future__ import annotations

import hmac
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from flask import Flask, Response, jsonify, request

from local.sim.catalog import ERP_OFFSET, Catalog, parse_erp_timestamp, record_key
from local.sim.connekta_params import (
    Condition,
    ParameterError,
    parse_paginacion,
    parse_parametros,
    parse_timestamp,
)
from local.sim.connekta_rows import (
    NUMBER_COLUMNS,
    ROW_COLUMNS,
    TIMESTAMP_COLUMNS,
    connekta_row,
)
from local.sim.faults import FaultInjector, with_faults
from local.sim.flask_common import create_app, sim_blueprint
from local.sim.ratelimit import optional_limiter
from local.sim.requestlog import RequestLog, log_requests

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

STANDARD_PATH = "/api/siesa/v3/ejecutarconsultaestandar"
CUSTOM_PATH = "/api/connekta/v3/ejecutarconsulta"
DEFAULT_STANDARD_QUERY = "API_v2_Items"
DEFAULT_CUSTOM_QUERY = "INTEGRACION_ITEMS"
DEFAULT_ID_COMPANIA = 5001
DEFAULT_COMPANY = 1
DEFAULT_CONNI_KEY = "conni-local-key"
DEFAULT_CONNI_TOKEN = "conni-local-token"  # nosec B105 # the simulator's published default, like the other sims' keys
DEFAULT_PAGE_OVERLAP = 2
NO_RECORDS = "No se encontraron registros"
DENIED = "El usuario no tiene acceso a la consulta, verifique si tiene permisos"

Endpoint = Literal["standard", "custom"]
ROWS_KEY: dict[Endpoint, str] = {"standard": "Table", "custom": "Datos"}


class ConnektaRefusal(Exception):
    """A request Connekta refuses: answered with `status` and `{"codigo", "mensaje"}`."""

    def __init__(self, status: int, mensaje: str, retry_after: int | None = None) -> None:
        super().__init__(mensaje)
        self.status = status
        self.mensaje = mensaje
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class _Row:
    """A served row and where it comes from (for the move-a-record fault)."""

    row: dict[str, Any]
    catalog: Catalog
    code: str


def message(status: int, mensaje: str) -> Response:
    """Connekta's error shape: `{"codigo": 1, "mensaje": ..., "detalle": null}`."""
    response = jsonify({"codigo": 1, "mensaje": mensaje, "detalle": None})
    response.status_code = status
    return response


class ConnektaSim:
    """One Connekta tenant: its companies' catalogs served through saved queries.

    `companies` is one Catalog (company 1) or ERP company code -> Catalog.
    `credentials` maps each saved query to its (ConniKey, ConniToken); by
    default every query takes the default pair. `no_rows_status` 200 answers
    "no rows" with an empty 200 instead of the 400. `ignore_company_filter`
    makes a `parametros` company condition pass every company's rows (a
    saved query that does not expose the column to filters).
    """

    def __init__(
        self,
        companies: Catalog | Mapping[int, Catalog],
        *,
        id_compania: int = DEFAULT_ID_COMPANIA,
        standard_queries: Iterable[str] = (DEFAULT_STANDARD_QUERY,),
        custom_queries: Iterable[str] = (DEFAULT_CUSTOM_QUERY,),
        credentials: Mapping[str, tuple[str, str]] | None = None,
        page_overlap: int = DEFAULT_PAGE_OVERLAP,
        shuffle_pages: bool = True,
        no_rows_status: Literal[400, 200] = 400,
        ignore_company_filter: bool = False,
        rate_limit: int | None = None,
        rate_window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        faults: FaultInjector | None = None,
        seed: int = 0,
    ) -> None:
        if page_overlap < 0:
            raise ValueError("page_overlap must be >= 0")
        self.companies: dict[int, Catalog] = (
            {DEFAULT_COMPANY: companies} if isinstance(companies, Catalog) else dict(companies)
        )
        self.id_compania = id_compania
        self.queries: dict[Endpoint, tuple[str, ...]] = {
            "standard": tuple(standard_queries),
            "custom": tuple(custom_queries),
        }
        every_query = {*self.queries["standard"], *self.queries["custom"]}
        pairs = (
            dict(credentials)
            if credentials is not None
            else dict.fromkeys(every_query, (DEFAULT_CONNI_KEY, DEFAULT_CONNI_TOKEN))
        )
        self._credentials: dict[str, tuple[str, str]] = pairs
        self.page_overlap = page_overlap
        self.shuffle_pages = shuffle_pages
        self.no_rows_status = no_rows_status
        self.ignore_company_filter = ignore_company_filter
        self.seed = seed
        self.faults = faults if faults is not None else FaultInjector()
        self.log = RequestLog()
        self.limiter = optional_limiter(rate_limit, rate_window_s, clock)
        self._lock = threading.Lock()
        self._served = 0
        self.flask_app = self._build_app()
        self.wsgi_app: WSGIApplication = log_requests(
            with_faults(self.flask_app.wsgi_app, self.faults), self.log, service="siesa"
        )

    # --- run-time control --------------------------------------------------------

    def set_credentials(self, query: str, conni_key: str, conni_token: str) -> None:
        """Give a saved query its own ConniKey/ConniToken pair (the old pair stops working)."""
        with self._lock:
            self._credentials[query] = (conni_key, conni_token)

    def revoke(self, query: str) -> None:
        """Withdraw a query's pair: every request for it answers 401."""
        with self._lock:
            self._credentials.pop(query, None)

    def rows(self, company: int | None = None) -> list[dict[str, Any]]:
        """Every row the tenant holds (or one company's) as served, padded, in the query's base order."""
        return [
            served.row
            for served in self._rows()
            if company is None or served.row["f120_id_cia"] == company
        ]

    def state(self) -> dict[str, Any]:
        """Everything the simulator holds (GET /_sim/state); never a key or token."""
        return {
            "service": "siesa",
            "dialect": "connekta",
            "id_compania": self.id_compania,
            "queries": {endpoint: list(names) for endpoint, names in self.queries.items()},
            "companies": {
                str(code): catalog.snapshot() for code, catalog in sorted(self.companies.items())
            },
            "quirks": {
                "page_overlap": self.page_overlap,
                "shuffle_pages": self.shuffle_pages,
                "no_rows_status": self.no_rows_status,
                "ignore_company_filter": self.ignore_company_filter,
            },
            "faults": self.faults.snapshot(),
            "rate_limit": {
                "limit": self.limiter.limit if self.limiter else None,
                "window_s": self.limiter.window_s if self.limiter else None,
            },
        }

    # --- rows ---------------------------------------------------------------------

    def _rows(self) -> list[_Row]:
        """Every company's rows, ordered by (f120_ts, company, f120_id) as the query sorts them."""
        served = [
            _Row(connekta_row(record, company), catalog, record_key(record))
            for company, catalog in sorted(self.companies.items())
            for record in catalog.records()
        ]
        served.sort(
            key=lambda item: (
                parse_timestamp(item.row["f120_ts"]) or datetime.min,
                item.row["f120_id_cia"],
                item.row["f120_id"],
            )
        )
        return served

    def _matches(self, served: _Row, conditions: tuple[Condition, ...]) -> bool:
        for condition in conditions:
            value = served.row[condition.column]
            if condition.op == ">=":
                moment = parse_timestamp(value) if isinstance(value, str) else None
                if moment is None or moment < condition.value:  # type: ignore[operator]
                    return False
            elif condition.column == "f120_id_cia" and self.ignore_company_filter:
                continue
            elif value != condition.value:
                return False
        return True

    def _page(
        self, rows: list[_Row], paging: tuple[int, int] | None
    ) -> tuple[list[_Row], int | None]:
        """The rows of one page (and its number), with the order drift."""
        if paging is None:
            return rows, None
        number, size = paging
        step = max(1, size - min(self.page_overlap, size - 1))
        start = (number - 1) * step
        chosen = rows[start : start + size]
        if self.shuffle_pages:
            with self._lock:
                self._served += 1
                served = self._served
            random.Random(f"{self.seed}:{number}:{served}").shuffle(chosen)  # nosec B311 # seeded, so a test can replay the simulated page order
        return chosen, number

    def _move_a_record(self, page_rows: list[_Row], page: int) -> None:
        """The "record changed while a client pages" fault: bump one row of this page to the end."""
        if not page_rows:
            return
        target = page_rows[0]
        newest = max(
            parse_erp_timestamp(record["f_fecha_modificacion"])
            for catalog in self.companies.values()
            for record in catalog.records()
        ).replace(tzinfo=None)
        now = datetime.now(ERP_OFFSET).replace(tzinfo=None, microsecond=0)
        (moved,) = target.catalog.modify([target.code], now=max(now, newest + timedelta(seconds=1)))
        self.faults.record_event(
            {
                "fault": "move_record",
                "after_page": page,
                "id": target.row["f120_id"],
                "company": target.row["f120_id_cia"],
                "f_fecha_modificacion": moved["f_fecha_modificacion"],
            }
        )

    # --- HTTP --------------------------------------------------------------------

    def _check_access(self, endpoint: Endpoint) -> str:
        """The query a request may run; ConnektaRefusal (400/401/429) otherwise."""
        query = (request.args.get("descripcion") or "").strip()
        if not query:
            raise ConnektaRefusal(400, "El parámetro descripcion es obligatorio")
        if query not in self.queries[endpoint]:
            raise ConnektaRefusal(400, f"No existe la consulta {query[:80]}")
        key = request.headers.get("ConniKey", "")
        token = request.headers.get("ConniToken", "")
        with self._lock:
            pair = self._credentials.get(query)
        if pair is None or not (
            hmac.compare_digest(key.encode(), pair[0].encode())
            & hmac.compare_digest(token.encode(), pair[1].encode())
        ):
            raise ConnektaRefusal(401, DENIED)
        tenant = (request.args.get("idCompania") or "").strip()
        if not tenant.isascii() or not tenant.isdigit():
            raise ConnektaRefusal(400, "El parámetro idCompania debe ser un número")
        if int(tenant) != self.id_compania:
            raise ConnektaRefusal(401, DENIED)
        if self.limiter is not None:
            decision = self.limiter.acquire(key)
            if not decision.allowed:
                raise ConnektaRefusal(429, "Demasiadas solicitudes", decision.retry_after_s)
        return query

    def _answer(self, endpoint: Endpoint) -> Response:
        self._check_access(endpoint)
        try:
            paging = parse_paginacion(request.args.get("paginacion"))
            conditions = parse_parametros(request.args.get("parametros"))
        except ParameterError as exc:
            raise ConnektaRefusal(400, str(exc)) from None
        for condition in conditions:
            expected = TIMESTAMP_COLUMNS if condition.op == ">=" else NUMBER_COLUMNS
            if condition.column not in ROW_COLUMNS:
                raise ConnektaRefusal(
                    400, f"El nombre de columna '{condition.column}' no es válido"
                )
            if condition.column not in expected:
                raise ConnektaRefusal(
                    400, f"La columna '{condition.column}' no admite {condition.op}"
                )
        rows = [served for served in self._rows() if self._matches(served, conditions)]
        chosen, page = self._page(rows, paging)
        if page is not None and self.faults.take_move_after_page(page):
            self._move_a_record(chosen, page)
        if not chosen and self.no_rows_status == 400:
            return message(400, NO_RECORDS)
        rows_json = [served.row for served in chosen]
        return jsonify({"codigo": 0, "mensaje": "", "detalle": {ROWS_KEY[endpoint]: rows_json}})

    def _build_app(self) -> Flask:
        app = create_app("siesa-connekta-sim")

        @app.errorhandler(ConnektaRefusal)
        def _refused(exc: ConnektaRefusal) -> Response:
            response = message(exc.status, exc.mensaje)
            if exc.retry_after is not None:
                response.headers["Retry-After"] = str(exc.retry_after)
            return response

        @app.get(STANDARD_PATH)
        def _standard() -> Response:
            return self._answer("standard")

        @app.get(CUSTOM_PATH)
        def _custom() -> Response:
            return self._answer("custom")

        app.register_blueprint(sim_blueprint(self.state, self.log, self._injector, service="siesa"))
        return app

    def _injector(self, service: str | None) -> FaultInjector:
        if service not in (None, "siesa"):
            raise KeyError(f"this simulator serves only 'siesa', not {service!r}")
        return self.faults
