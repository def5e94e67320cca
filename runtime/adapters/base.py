"""`ProductAdapter`: the interface every product implements, and the logic they share.

The design document's "Product Adapter Architecture": one adapter per product,
chosen by `product_type` through the registry. The base class holds what all
products share (validation of the id, batching to
the contract's 100 items, per-item result bookkeeping, retries and the error
matrix via `ProductApi`), so a product adds only its own calls in `send`.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import httpx

from contract.loaded import LoadedMapping
from runtime import settings
from runtime.adapters.listing import read_listing
from runtime.adapters.product_api import BatchRejected, ProductApi
from runtime.adapters.results import BatchResult, FailedRecord, ItemOutcome
from runtime.adapters.run_cache import RunCache
from runtime.config import ClientConfig, ProductCredentials
from runtime.errors import ProductResponseError
from runtime.http import PRODUCT_RETRY_POLICY, LatencyHook, RetryPolicy, status_of
from runtime.http.budget import BudgetGate, RequestBudget, SlidingWindowBudget
from runtime.http.pages import MAX_PAGE_SIZE
from runtime.http.retry import Sleeper
from runtime.product_types import leaving_scope_field
from runtime.settings import MAX_ITEMS_PER_REQUEST

PRODUCT_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ProductAdapter(ABC):
    """Loads products of one client into its product (Kong, WMS, ...).

    Subclasses set `display_name` and `id_field`, give `make_auth`, and
    implement `send`; they may extend `validate_product`. The registry sets
    `product_type`. Errors: ProductAuthError stops at once; ProductUnavailable
    or ProductRateLimited are raised when retries end (the workflow retries);
    anything a record did wrong lands in the BatchResult, never raised.

    Every request takes one from `budget`, the client's product budget (the
    loader passes the shared one of the budgets table; without one, the
    adapter keeps its own: the config's `product_requests_per_minute`).
    `run_cache`, when the loader gives one, is where the run's adapters share
    what each would otherwise read from the product once (run_cache.py).
    `load_batch` may be called from several threads at once (the loader's
    workers): what an adapter keeps between calls must allow that.
    """

    product_type: ClassVar[str] = ""
    display_name: ClassVar[str] = "product"
    id_field: ClassVar[str] = "id"

    def __init__(
        self,
        credentials: ProductCredentials,
        config: ClientConfig,
        mapping: LoadedMapping | None = None,
        *,
        http: httpx.Client | None = None,
        policy: RetryPolicy = PRODUCT_RETRY_POLICY,
        sleep: Sleeper = time.sleep,
        on_latency: LatencyHook | None = None,
        budget: RequestBudget | None = None,
        run_cache: RunCache | None = None,
    ) -> None:
        self.credentials = credentials
        self.config = config
        self.mapping = mapping
        self._http = http
        self._policy = policy
        self._sleep = sleep
        self._on_latency = on_latency
        self.budget = budget if budget is not None else in_process_budget(config)
        self.run_cache = run_cache
        self.api_client = self.get_api_client()

    # --- what a product provides ---------------------------------------------------

    @abstractmethod
    def make_auth(self) -> httpx.Auth:
        """How this product's requests carry the credentials."""

    @abstractmethod
    def send(self, products: list[dict[str, Any]], result: BatchResult) -> None:
        """Send valid products (at most 100) and record each one's outcome in `result`."""

    def product_url(self, product_id: str) -> str | None:
        """Where GET reads one stored product back; None when the product offers no such read."""
        return None

    def listing_url(self) -> str | None:
        """Where GET lists every stored product a page at a time; None when the product has no listing."""
        return None

    def probe_urls(self) -> dict[str, str]:
        """A cheap read per service, by service name: what `siesa client check` calls.

        The listing's first page of one record by default; a product made of
        several services (WMS) names one read at each.
        """
        url = self.listing_url()
        return {} if url is None else {"api": url}

    def probe(self, url: str) -> None:
        """GET `url` once (one record, no retry); the product's runtime error when it fails."""
        self.api_client.call_once("GET", url, params={"page": 1, "limit": 1})

    # --- the design document's interface ------------------------------------------

    def get_api_client(self) -> ProductApi:
        """The product's HTTP client: auth, error table, retries, the client's budget, latency."""
        return ProductApi(
            api_name=self.display_name,
            auth=self.make_auth(),
            secret_values=[self.credentials.api_key.get_secret_value()],
            http=self._http,
            policy=self._policy,
            sleep=self._sleep,
            on_latency=self._on_latency,
            budget=BudgetGate(self.budget, self.config.client_id),
        )

    def transform_products(self, canonical: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Canonical records → the product's records, through the compiled mapping's `to_product`.

        Only for an adapter given a mapping (replay, reconcile, tests): the loader
        builds its adapter without one, and sends the records the transformer made.
        """
        if self.mapping is None:
            raise TypeError(f"this {self.display_name} adapter was built without a mapping")
        return [self.mapping.to_product(record) for record in canonical]

    def id_of(self, product: dict[str, Any]) -> str:
        """The product record's id (the product's key field), "" when it has none."""
        value = product.get(self.id_field)
        return "" if value is None else str(value)

    def validate_product(self, product: dict[str, Any]) -> tuple[bool, str]:
        """(True, "") when the product may be sent; else (False, the reason)."""
        record_id = product.get(self.id_field)
        if not isinstance(record_id, str) or not record_id:
            return False, f"missing {self.id_field}"
        if not PRODUCT_ID_PATTERN.fullmatch(record_id):
            return False, f"{self.id_field} must be 1..64 characters of A-Z a-z 0-9 . _ -"
        return True, ""

    def load_batch(self, products: list[dict[str, Any]]) -> BatchResult:
        """Load products; every one ends up in the result's succeeded or failed list.

        Invalid products fail without a call; the rest go in requests of at
        most 100 items.
        """
        result = BatchResult()
        valid: list[dict[str, Any]] = []
        for product in products:
            ok, reason = self.validate_product(product)
            if ok:
                valid.append(product)
            else:
                result.fail(self.id_of(product), f"{self.display_name} needs: {reason}")
        for start in range(0, len(valid), MAX_ITEMS_PER_REQUEST):
            self.send(valid[start : start + MAX_ITEMS_PER_REQUEST], result)
        return result

    def fetch_product(self, product_id: str) -> dict[str, Any] | None:
        """The product's stored record for `product_id`, None when it holds none (HTTP 404).

        What reconciliation compares with the mapping's output. ProductResponseError
        when this product offers no read of one record.
        """
        url = self.product_url(product_id)
        if url is None:
            raise ProductResponseError(f"{self.display_name} offers no read of one stored record")
        try:
            body = self.api_client.call("GET", url, check=_one_object)
        except ProductResponseError as exc:
            if status_of(exc) == 404:
                return None
            raise
        return dict(body)

    def list_products(self, page_size: int = MAX_PAGE_SIZE) -> list[dict[str, Any]]:
        """Every record the product holds for this client, through its paged listing.

        What reconciliation reads to find records no ERP record maps to and
        records held twice (a record held twice is listed twice); the pages
        are read as runtime/adapters/listing.py says. ProductResponseError
        when this product offers no listing.
        """
        url = self.listing_url()
        if url is None:
            raise ProductResponseError(f"{self.display_name} offers no listing of stored records")
        return read_listing(self.api_client, url, self.id_field, page_size)

    def leave_scope(self, product_id: str, choice: str) -> str:
        """Make a stored record that left the client's scope what the client chose.

        `zero_stock` and `mark_inactive` read the stored record (GET), change
        the one field the product has for it (runtime/product_types.py) and
        write it back (PUT), through the same retries as every call. Returns
        "zeroed", "marked inactive", "unchanged" (already so) or "not held"
        (the product holds no such record); errors propagate as from any call.
        """
        path = leaving_scope_field(self.product_type, choice)
        url = self.product_url(product_id)
        if path is None or url is None:
            raise ProductResponseError(f"{self.display_name} offers no {choice} for a record")
        stored = self.fetch_product(product_id)
        if stored is None:
            return "not held"
        changed = _with_value(stored, path, 0 if choice == "zero_stock" else False)
        if changed == stored:
            return "unchanged"
        self.api_client.call("PUT", url, json_body=changed, check=_one_object)
        return "zeroed" if choice == "zero_stock" else "marked inactive"

    def close(self) -> None:
        """Release the product's HTTP connections."""
        self.api_client.close()

    def __enter__(self) -> ProductAdapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- helpers for `send` ---------------------------------------------------------

    def url(self, path: str) -> str:
        """`path` under the client config's `product_api_url`: the URL its validation passed.

        Not the secret's `api_url`: `siesa client add` makes the two the same, and
        the config is what the URL rules (runtime.api_url) were checked on.
        """
        return self.config.product_api_url.rstrip("/") + path

    def post_items(
        self, url: str, items: list[dict[str, Any]], ids: list[str]
    ) -> list[ItemOutcome]:
        """Per-item outcomes of one bulk POST (a 400 for the whole request is bisected)."""
        return self.api_client.post_items(url, items, ids)

    def record_failure(self, result: BatchResult, outcome: ItemOutcome, context: str = "") -> None:
        """Put a refused item in `result` with the product's message."""
        reason = outcome.error or f"{self.display_name} refused the record"
        result.fail(outcome.id, f"{context}{reason}", retryable=outcome.retryable)


def in_process_budget(config: ClientConfig) -> SlidingWindowBudget:
    """An adapter's own product budget: the config's requests per minute (None: pauses only)."""
    return SlidingWindowBudget(
        config.product_requests_per_minute, float(settings.rate_window_seconds())
    )


def _with_value(record: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    """A copy of `record` with `value` at the nested `path` (objects on the way created)."""
    copy = dict(record)
    inner = copy
    for part in path[:-1]:
        nested = inner.get(part)
        inner[part] = dict(nested) if isinstance(nested, dict) else {}
        inner = inner[part]
    inner[path[-1]] = value
    return copy


def _one_object(body: Any) -> str | None:
    """Why a decoded body is not one stored record, or None when it is."""
    return None if isinstance(body, dict) else "the body is not a JSON object"


__all__ = [
    "BatchRejected",
    "BatchResult",
    "FailedRecord",
    "ItemOutcome",
    "ProductAdapter",
    "ProductApi",
]
