"""The ERP's Connekta dialect (shared/contracts/siesa-connekta.openapi.yaml): saved queries.

One GET per page: `idCompania`, the saved query's name (`descripcion`),
`paginacion=numPag=N|tamPag=M` and a `parametros` filter on the company and,
for incremental syncs, on the change-timestamp column in the ERP's local time
(connekta_filter.py builds it). Paging goes on until Connekta says "No se
encontraron registros" (a 400) or sends a page without rows. Rows of other
companies of the tenant are dropped here; a row that shows up on two pages is
resolved by the extractor's dedup through `record_key` / `record_modified`,
and rows that change while the query is paged make it page again (offset
paging can shift an unchanged row onto a page already read).
ConniKey and ConniToken ride as headers; every request first takes one unit
of the same per-client budget as the REST dialect, under the same retry policy.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Generator, Iterator
from contextlib import suppress
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from runtime.config import ClientConfig, ConnektaSettings, SiesaCredentials
from runtime.errors import InvalidClientConfig, InvalidSecret, SiesaResponseError
from runtime.http import (
    SIESA_RETRY_POLICY,
    LatencyHook,
    MultiHeaderAuth,
    RetryPolicy,
    api_key_auth,
)
from runtime.http.budget import BudgetGate, RequestBudget
from runtime.http.retry import Sleeper
from runtime.remote_text import plain_text
from runtime.siesa.base import SiesaSource
from runtime.siesa.budget import in_process_budget
from runtime.siesa.connekta_api import ROWS_KEYS, ConnektaApi, NoRecords, check_body
from runtime.siesa.connekta_filter import build_filter

ENDPOINT_PATHS = {
    "standard": "/api/siesa/v3/ejecutarconsultaestandar",
    "custom": "/api/connekta/v3/ejecutarconsulta",
}
MAX_PAGE_SIZE = 1000
MAX_PASSES = 3
"""Passes over the query when rows keep changing while it is paged."""
_TIMESTAMP = re.compile(
    r"\s*([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:[.,]([0-9]{1,9}))?\s*"
)

logger = logging.getLogger(__name__)


def key_text(value: object) -> str | None:
    """An id as the mappings write it: 123 and 123.0 (a float or Decimal) -> "123", " A1 " -> "A1"; None if absent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value == int(value) else str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def timestamp_text(value: object) -> str:
    """A Connekta timestamp as "YYYY-MM-DD HH:MM:SS.ffffff" (sorts in time order); "" if unreadable.

    Connekta writes `2025-01-15T10:00:00`, sometimes with a fraction of up
    to 7 digits; all of them become the same fixed-width form.
    """
    if not isinstance(value, str):
        return ""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return ""
    day, clock, fraction = match.groups()
    return f"{day} {clock}.{(fraction or '')[:6].ljust(6, '0')}"


def company_number(value: object) -> int | None:
    """A company code sent as 1, 1.0 or "001 " as an int; None when it is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


class ConnektaSiesaSource(SiesaSource):
    """Pages of rows of one saved Connekta query, for one company of the tenant."""

    dialect = "connekta"

    def __init__(
        self,
        config: ClientConfig,
        credentials: SiesaCredentials,
        *,
        http: httpx.Client | None = None,
        budget: RequestBudget | None = None,
        policy: RetryPolicy = SIESA_RETRY_POLICY,
        sleep: Sleeper = time.sleep,
        on_latency: LatencyHook | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        if config.connekta is None:
            raise InvalidClientConfig(
                f"client {config.client_id} speaks connekta but has no connekta settings"
            )
        key, token = credentials.conni_key, credentials.conni_token
        if key is None or token is None:
            raise InvalidSecret(
                f"{config.siesa_credentials_secret} needs conni_key and conni_token "
                "(the Connekta dialect's ConniKey and ConniToken)"
            )
        if not key.get_secret_value().strip() or not token.get_secret_value().strip():
            raise InvalidSecret(
                f"{config.siesa_credentials_secret} has an empty conni_key or conni_token"
            )
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        self.client_id = config.client_id
        self.settings: ConnektaSettings = config.connekta
        self.stock = config.stock_settings
        self.zone = ZoneInfo(config.siesa_timezone)
        self.page_size = page_size
        self.url = config.siesa_api_url.rstrip("/") + ENDPOINT_PATHS[self.settings.endpoint]
        self.rows_key = ROWS_KEYS[self.settings.endpoint]
        self.rows_seen = 0
        self.rows_of_other_companies = 0
        spend = budget if budget is not None else in_process_budget(config)
        auth = MultiHeaderAuth(api_key_auth("ConniKey", key), api_key_auth("ConniToken", token))
        self._api = ConnektaApi(
            query=self.settings.query,
            id_compania=self.settings.id_compania,
            secret_name=config.siesa_credentials_secret,
            api_name="Siesa",
            auth=auth,
            secret_values=_secret_values(credentials),
            http=http,
            policy=policy,
            sleep=sleep,
            on_latency=on_latency,
            budget=BudgetGate(spend, self.client_id),
        )

    def filter_for(self, modified_since: datetime | None) -> str:
        """The `parametros` text for a sync changed since `modified_since` (None: everything)."""
        return build_filter(
            company_column=self.settings.company_column,
            company_code=self.settings.company_code,
            timestamp_column=self.settings.timestamp_column,
            since=modified_since,
            zone=self.zone,
        )

    def iter_pages(self, modified_since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """Every page of the query, in passes of page 1, 2, ... until there are no more rows.

        Each yielded page holds only the client's company's rows (pages left
        empty by that are skipped). Connekta pages by offset, so a row that
        changes while a pass runs moves to the end and shifts the rows after
        it back by one: a row can slip onto a page already read. When a pass
        sees a row come back with a newer timestamp, the query is paged once
        more (up to MAX_PASSES) to catch such rows; the extractor's dedup
        keeps one copy of each. A pass that still sees rows move on the last
        try is logged as a warning: those rows come with the next sync.
        """
        params: dict[str, str | int] = {
            "idCompania": self.settings.id_compania,
            "descripcion": self.settings.query,
            "parametros": self.filter_for(modified_since),
        }
        for attempt in range(1, MAX_PASSES + 1):
            moved = yield from self._one_pass(params)
            if not moved:
                break
            if attempt < MAX_PASSES:
                logger.info(
                    "Connekta query %s: %d rows changed while paging; paging again (pass %d)",
                    self.settings.query,
                    moved,
                    attempt + 1,
                )
            else:
                logger.warning(
                    "Connekta query %s: rows still changed while paging on pass %d; a row "
                    "shifted onto a page already read may reach the product only with the next sync",
                    self.settings.query,
                    attempt,
                )
        logger.info(
            "Connekta query %s: %d rows read, %d of other companies dropped",
            self.settings.query,
            self.rows_seen,
            self.rows_of_other_companies,
        )

    def probe(self) -> str:
        """Run the saved query for its first row, once ("no rows" is an answer too)."""
        params: dict[str, str | int] = {
            "idCompania": self.settings.id_compania,
            "descripcion": self.settings.query,
            "parametros": self.filter_for(None),
            "paginacion": "numPag=1|tamPag=1",
        }
        with suppress(NoRecords):
            self._api.call_once("GET", self.url, params=params, check=check_body(self.rows_key, 1))
        return self.url

    def iter_stock_pages(self) -> Iterator[list[dict[str, Any]]]:
        """The saved query's rows as stock rows: Connekta has no stock endpoint.

        The quantity is the client's `stock.connekta_column`, the warehouse its
        `stock.connekta_warehouse_column`; without a column the sync is refused.
        """
        from runtime.stages.stock import stock_refusal

        column = self.stock.connekta_column
        problem = stock_refusal("connekta", column)
        if problem is not None or column is None:
            raise InvalidClientConfig(f"client {self.client_id}: {problem}")
        warehouse = self.stock.connekta_warehouse_column
        for page in self.iter_pages(None):
            yield [
                {
                    "f_codigo": self.record_key(row),
                    "f_bodega": key_text(row.get(warehouse)) or "",
                    "f_cantidad": row.get(column),
                }
                for row in page
            ]

    def _one_pass(self, params: dict[str, str | int]) -> Generator[list[dict[str, Any]], None, int]:
        """Page 1, 2, ... until "No se encontraron registros" or a page without rows.

        Returns how many rows came back with a different timestamp in this
        pass (rows that changed while it ran). A page that repeats the
        previous one row for row means the server ignores `paginacion`: a
        SiesaResponseError, not an endless loop.
        """
        check = check_body(self.rows_key, self.page_size)
        stamps: dict[tuple[object, str | None], str] = {}
        moved = 0
        previous: list[tuple[object, str | None, str]] | None = None
        page = 1
        while True:
            params["paginacion"] = f"numPag={page}|tamPag={self.page_size}"
            try:
                body = self._api.call("GET", self.url, params=dict(params), check=check)
            except NoRecords:
                return moved
            rows = self._api.page_rows(body, self.rows_key) if body is not None else []
            if not rows:
                return moved
            fingerprint = [self._fingerprint(row) for row in rows]
            if fingerprint == previous:
                raise SiesaResponseError(
                    f"Siesa Connekta sent page {page} of query {self.settings.query} again as "
                    f"page {page - 1}: it ignores paginacion, so paging would never end"
                )
            previous = fingerprint
            for company, key, stamp in fingerprint:
                if stamps.setdefault((company, key), stamp) != stamp:
                    moved += 1
            self.rows_seen += len(rows)
            kept = [row for row in rows if self._is_our_company(row)]
            self.rows_of_other_companies += len(rows) - len(kept)
            if kept:
                yield kept
            page += 1

    def _fingerprint(self, row: dict[str, Any]) -> tuple[object, str | None, str]:
        return (
            company_number(row.get(self.settings.company_column)),
            key_text(row.get(self.settings.key_column)),
            timestamp_text(row.get(self.settings.timestamp_column)),
        )

    def _is_our_company(self, row: dict[str, Any]) -> bool:
        """True for a row of the client's ERP company; a row that does not say breaks the contract."""
        column = self.settings.company_column
        number = company_number(row.get(column))
        if number is None:
            raise SiesaResponseError(
                f"Siesa Connekta sent a row of query {self.settings.query} without a whole-number "
                f"{column} ({self.settings.key_column} "
                f"{plain_text(repr(key_text(row.get(self.settings.key_column))), limit=40)}): "
                "rows of other companies "
                "cannot be told apart; add the column to the query"
            )
        return number == self.settings.company_code

    def record_key(self, record: dict[str, Any]) -> str:
        """The row's id (`f120_id` by default) as text; a row without one breaks the contract."""
        key = key_text(record.get(self.settings.key_column))
        if key is None:
            raise SiesaResponseError(
                f"Siesa Connekta sent a row of query {self.settings.query} without a "
                f"{self.settings.key_column} ({self.settings.timestamp_column} "
                f"{plain_text(repr(record.get(self.settings.timestamp_column)), limit=40)}); "
                "every row needs one"
            )
        return key

    def record_modified(self, record: dict[str, Any]) -> str:
        """The change timestamp as "YYYY-MM-DD HH:MM:SS.ffffff"; "" when absent or unreadable."""
        return timestamp_text(record.get(self.settings.timestamp_column))

    def close(self) -> None:
        """Close the HTTP client this source created."""
        self._api.close()

    def __enter__(self) -> ConnektaSiesaSource:
        return self


def _secret_values(credentials: SiesaCredentials) -> list[str]:
    """Every secret of the credentials, to scrub from anything the ERP sends back."""
    return [
        secret.get_secret_value()
        for secret in (
            credentials.api_key,
            credentials.password,
            credentials.conni_key,
            credentials.conni_token,
        )
        if secret is not None
    ]
