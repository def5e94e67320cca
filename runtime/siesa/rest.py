"""The ERP's REST dialect (shared/contracts/siesa.openapi.yaml): GET /inventory/products.

Bearer auth with the client's `api_key`; pages of up to 1000 records by
`page`/`limit`; `modified_since` (ISO 8601 with offset) for incremental syncs;
the last page is `pagination.total_pages` (or the first empty page). Every
request first takes one unit of the client's budget of 100 per minute.

Pages are cut at request time, ordered by modification time: a record that
changes while the extractor pages moves to the end, and every record after
its old place shifts back by one, so an unchanged record can slip onto a
page already read. It would be missed by this run and, being unchanged,
never caught by the next incremental one. So a pass that saw fewer distinct
records than the ERP's `pagination.total_records` is followed by another
(the extractor keeps one copy of each); if records are still unread after
MAX_PASSES, the extraction fails as transient (the workflow retries it)
rather than let the watermark pass a record nobody read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from runtime.config import ClientConfig, SiesaCredentials
from runtime.errors import (
    IntegrationError,
    InvalidSecret,
    SiesaAuthError,
    SiesaRateLimited,
    SiesaResponseError,
    SiesaResponseTooLarge,
    SiesaResponseTooSlow,
    SiesaUnavailable,
)
from runtime.http import (
    SIESA_RETRY_POLICY,
    TRANSIENT_STATUSES,
    Failure,
    JsonApi,
    LatencyHook,
    RetryPolicy,
    bearer_auth,
    status_of,
)
from runtime.http.budget import BudgetGate, RequestBudget
from runtime.http.pages import MAX_PAGE_SIZE, check_page, total_records
from runtime.http.retry import Sleeper
from runtime.remote_text import plain_text
from runtime.siesa.base import Position, SiesaSource
from runtime.siesa.budget import in_process_budget

PRODUCTS_PATH = "/inventory/products"
STOCK_PATH = "/inventory/stock"
MAX_PASSES = 3
"""Passes over the listing when records change while it is paged."""

logger = logging.getLogger(__name__)


class SiesaRestApi(JsonApi):
    """The REST dialect's HTTP calls; `error_for` is its one status → error table."""

    def error_for(self, failure: Failure) -> IntegrationError:
        """401/403 stop; 429 and a held budget wait; 5xx, timeouts, drops, cut-off and malformed pages retry."""
        message = failure.describe(self.api_name)
        if failure.kind == "too_large":
            return SiesaResponseTooLarge(message)
        if failure.kind == "deadline":
            return SiesaResponseTooSlow(message)
        if failure.kind == "budget":
            return SiesaRateLimited(message, retry_after=failure.retry_after)
        if failure.kind != "status":
            return SiesaUnavailable(message)
        if failure.status in (401, 403):
            return SiesaAuthError(message)
        if failure.status == 429:
            return SiesaRateLimited(message, retry_after=failure.retry_after)
        if failure.status in TRANSIENT_STATUSES:
            return SiesaUnavailable(message)
        return SiesaResponseError(message)


class RestSiesaSource(SiesaSource):
    """Pages of products from the ERP's REST API for one client."""

    dialect = "rest"

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
        token = credentials.api_key
        if token is None or not token.get_secret_value().strip():
            raise InvalidSecret(
                f"{config.siesa_credentials_secret} has no api_key (the REST dialect's bearer token)"
            )
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        self.client_id = config.client_id
        self.zone = ZoneInfo(config.siesa_timezone)
        self.page_size = page_size
        self.products_url = config.siesa_api_url.rstrip("/") + PRODUCTS_PATH
        self.stock_url = config.siesa_api_url.rstrip("/") + STOCK_PATH
        spend = budget if budget is not None else in_process_budget(config)
        self._api = SiesaRestApi(
            api_name="Siesa",
            auth=bearer_auth(token),
            secret_values=_secret_values(credentials),
            http=http,
            policy=policy,
            sleep=sleep,
            on_latency=on_latency,
            budget=BudgetGate(spend, self.client_id),
        )

    def iter_pages(self, modified_since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """Every page, in passes of page 1, 2, ... until every record the ERP counts was read.

        A pass ends at `pagination.total_pages` or an empty page. When the
        records read so far (over all passes) are fewer than the last page's
        `total_records`, a record slipped onto a page already read while
        another changed: the listing is paged again, up to MAX_PASSES times.
        Still short after that, SiesaUnavailable: the workflow retries the
        extraction, and no watermark moves past an unread record.
        """
        seen: set[str] = set()
        for records, _ in self.pages_from(modified_since, None, lambda: len(seen)):
            seen.update(self.record_key(record) for record in records)
            yield records

    def pages_from(
        self,
        modified_since: datetime | None,
        position: Position | None,
        distinct: Callable[[], int],
    ) -> Iterator[tuple[list[dict[str, Any]], Position | None]]:
        """`iter_pages` from `position` ({pass, page, total}); `distinct` counts the records read.

        After a pass's last page the position says so (`page` 0): the next
        invocation first checks whether that pass read every record.
        """
        params: dict[str, str | int] = {"limit": self.page_size}
        if modified_since is not None:
            params["modified_since"] = self.format_since(modified_since)
        where = position or {}
        attempt, page, total = int(where.get("pass", 1)), int(where.get("page", 1)), 0
        total = int(where.get("total", 0))
        while True:
            if page == 0:  # the pass ended: was every record read?
                if distinct() >= total:
                    return
                if attempt >= MAX_PASSES:
                    raise SiesaUnavailable(
                        f"Siesa records kept changing while the listing was paged: {distinct()} "
                        f"of {total} records read after {MAX_PASSES} passes"
                    )
                attempt, page = attempt + 1, 1
                logger.info(
                    "Siesa listing changed while paging: %d of %d records read; paging again "
                    "(pass %d)",
                    distinct(),
                    total,
                    attempt,
                )
            body = self._page(self.products_url, params, page)
            records: list[dict[str, Any]] = body["data"]
            total = total_records(body, total)
            last = not records or page >= body["pagination"]["total_pages"]
            page = 0 if last else page + 1
            if records:
                yield records, {"pass": attempt, "page": page, "total": total}
            elif distinct() >= total:
                return

    def iter_stock_pages(self) -> Iterator[list[dict[str, Any]]]:
        """GET /inventory/stock, page 1, 2, ... once: one row per product and warehouse.

        Stock moves all the time and has no change timestamp: one pass reads
        what the ERP holds now; a row that moves between pages is read again by
        the next stock sync.
        """
        params: dict[str, str | int] = {"limit": self.page_size}
        page = 1
        while True:
            body = self._page(self.stock_url, params, page)
            rows: list[dict[str, Any]] = body["data"]
            if not rows:
                return
            yield rows
            if page >= body["pagination"]["total_pages"]:
                return
            page += 1

    def _page(self, url: str, params: dict[str, str | int], page: int) -> dict[str, Any]:
        """One page of a paged listing (products or stock), its shape checked."""
        return self._api.call(
            "GET",
            url,
            params={**params, "page": page},
            check=lambda body: check_page(body, self.page_size),
        )

    def probe(self) -> str:
        """GET the listing's first record, once."""
        self._api.call_once("GET", self.products_url, params={"limit": 1, "page": 1})
        return self.products_url

    def fetch_record(self, key: str) -> dict[str, Any] | None:
        """The ERP's current copy of one record (GET /inventory/products/{id}); None on 404."""
        url = f"{self.products_url}/{quote(key.strip(), safe='')}"
        try:
            body = self._api.call("GET", url, check=_one_record)
        except SiesaResponseError as exc:
            if status_of(exc) == 404:
                return None
            raise
        return dict(body)

    def format_since(self, moment: datetime) -> str:
        """ISO 8601 with offset, to the second; a naive moment is in the client's zone."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.replace(microsecond=0).isoformat()

    def record_key(self, record: dict[str, Any]) -> str:
        """The trimmed `f_codigo`; a record without one breaks the contract."""
        value = record.get("f_codigo")
        key = (
            str(value).strip()
            if isinstance(value, str | int) and not isinstance(value, bool)
            else ""
        )
        if not key:
            raise SiesaResponseError(
                f"Siesa sent a product without an f_codigo (f_fecha_modificacion "
                f"{plain_text(repr(record.get('f_fecha_modificacion')), limit=40)}); "
                "the contract requires one"
            )
        return key

    def record_modified(self, record: dict[str, Any]) -> str:
        """`f_fecha_modificacion` as "YYYY-MM-DD HH:MM:SS[.ffffff]" (sorts in time order); "" if absent."""
        value = record.get("f_fecha_modificacion")
        return str(value).strip().replace("T", " ") if isinstance(value, str) else ""

    def close(self) -> None:
        """Close the HTTP client this source created."""
        self._api.close()


def _one_record(body: Any) -> str | None:
    """Why a decoded body is not one SiesaProduct, or None when it is."""
    if not isinstance(body, dict) or "f_codigo" not in body:
        return "the body is not a product with an f_codigo"
    return None


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
