"""The reliability suite's harness: the real workflow, with handler waits recorded instead of slept.

Everything is real: moto's server executing infra/statemachine.asl.json, the
runtime's handler cores (extract, transform, load) behind the same
`lambda_entry` wrapper as the Lambda handlers, the compiled mappings of
mappings/, and the loopback simulators of Siesa, Kong and WMS. Only the
handlers' `Deps` differ from production, through their injection points:

- retry waits (`sleep` of the Siesa source and the product adapters) are
  recorded, not slept, so a 429's Retry-After can be checked without waiting;
- the ERP is read in pages of PAGE_SIZE records and the product loaded in
  batches of BATCH_SIZE, so a run of a few hundred records has several of each;
- the ERP read timeout is READ_TIMEOUT_SECONDS (30 s in production);
- a loader can be made to crash between two batches (`Injections`); it then
  sends one batch at a time, so "after batch k" means what it says (the
  concurrent loader's stop is tested in tests/runtime/stages/test_load.py);
- the workflow's own retries (Step Functions `Retry`, interval times backoff,
  with full jitter) are recorded by `workflow_waits_recorded`, not slept: what
  a retry decides is the same, only the clock is not waited on.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from local.demo_world import ClientWorld, DemoClient
from local.lambda_dispatch import Handler
from local.sim import KongSim, SiesaSim, SimServer, WmsSim, generate_catalog
from local.sim.catalog import Catalog
from runtime.adapters.registry import get_adapter_class
from runtime.handlers.deps import Deps
from runtime.handlers.events import Extracted, ExtractRequest, parse_event
from runtime.handlers.extract_run import extract
from runtime.handlers.loader import handle as handle_load
from runtime.handlers.transform_run import transform
from runtime.http import SlidingWindowBudget, make_http_client
from runtime.observability import lambda_entry
from runtime.siesa import SiesaSource, make_source

E2E_DIR = Path(__file__).resolve().parents[1] / "e2e"
if str(E2E_DIR) not in sys.path:
    sys.path.insert(0, str(E2E_DIR))
from e2e_support import E2eEngine  # noqa: E402

PAGE_SIZE = 50
BATCH_SIZE = 50
READ_TIMEOUT_SECONDS = 1.5
EXTRACTOR = "siesa-integration-extractor"
TRANSFORMER = "siesa-integration-transformer"
LOADER = "siesa-integration-loader"


class LoaderCrash(Exception):
    """An injected crash of the loader between two batches (what a killed Lambda leaves)."""


class WaitLog:
    """The retry waits each client's handlers asked for, in seconds; nothing is slept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waits: dict[str, list[float]] = defaultdict(list)

    def sleeper(self, client_id: str) -> Callable[[float], None]:
        """A `sleep` for one client's source or adapter."""

        def record(seconds: float) -> None:
            with self._lock:
                self._waits[client_id].append(float(seconds))

        return record

    def of(self, client_id: str) -> list[float]:
        """The waits one client's handlers asked for, in order."""
        with self._lock:
            return list(self._waits[client_id])


@contextmanager
def workflow_waits_recorded(waits: list[float]) -> Iterator[list[float]]:
    """While open, moto's Step Functions retriers append their wait to `waits` instead of sleeping.

    moto's interpreter sleeps through `time.sleep` of its retrier module; that
    module's `time` is swapped for one whose `sleep` records.
    """
    if not callable(getattr(getattr(retrier_decl, "time", None), "sleep", None)):
        raise RuntimeError("moto's retrier no longer sleeps through its module's `time`")
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(float(seconds))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(retrier_decl, "time", SimpleNamespace(sleep=record))
        yield waits


@dataclass
class Injections:
    """What a scenario changes in the handlers themselves: crashes, the ERP budget, page size."""

    crash_after_batches: dict[str, int] = field(default_factory=dict)
    siesa_budget: SlidingWindowBudget | None = None
    page_size: int = PAGE_SIZE


class _OwnedHttpSource:
    """A Siesa source that also closes the short-timeout HTTP client made for it."""

    def __init__(self, source: SiesaSource, http: httpx.Client) -> None:
        self._source = source
        self._http = http

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def __enter__(self) -> SiesaSource:
        return self._source

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._source.close()
        finally:
            self._http.close()


def source_factory(waits: WaitLog, injections: Injections | None = None) -> Callable[..., Any]:
    """make_source with recorded waits, small pages and a short read timeout."""
    chosen = injections or Injections()

    def build(config: Any, credentials: Any, **options: Any) -> Any:
        http = make_http_client(
            timeout=httpx.Timeout(READ_TIMEOUT_SECONDS, connect=READ_TIMEOUT_SECONDS)
        )
        if chosen.siesa_budget is not None:
            options["budget"] = chosen.siesa_budget
        source = make_source(
            config,
            credentials,
            http=http,
            sleep=waits.sleeper(config.client_id),
            page_size=chosen.page_size,
            **options,
        )
        return _OwnedHttpSource(source, http)

    return build


def adapter_factory(waits: WaitLog, injections: Injections) -> Callable[[str], Any]:
    """The registry's adapter classes with recorded waits, crashing where a scenario says."""

    def adapter_class(product_type: str) -> Callable[..., Any]:
        cls = get_adapter_class(product_type)

        def build(credentials: Any, config: Any, mapping: Any = None, **options: Any) -> Any:
            adapter = cls(
                credentials, config, mapping, sleep=waits.sleeper(config.client_id), **options
            )
            after = injections.crash_after_batches.get(config.client_id)
            if after is not None:
                _crash_after(adapter, after)
            return adapter

        return build

    return adapter_class


def _crash_after(adapter: Any, batches: int) -> None:
    original = adapter.load_batch
    done = [0]

    def load_batch(products: list[dict[str, Any]]) -> Any:
        if done[0] >= batches:
            raise LoaderCrash(f"injected crash after batch {batches}")
        done[0] += 1
        return original(products)

    adapter.load_batch = load_batch


def handlers(waits: WaitLog, injections: Injections) -> dict[str, Handler]:
    """The three Lambda functions: the runtime's cores with the harness's Deps."""

    def deps(product_concurrency: int | None = None) -> Deps:
        return Deps(
            source_factory=source_factory(waits, injections),
            adapter_class=adapter_factory(waits, injections),
            batch_size=BATCH_SIZE,
            product_concurrency=product_concurrency,
        )

    @lambda_entry("extractor")
    def extractor(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request = parse_event(ExtractRequest, event, "extractor")
        return extract(request, deps(), context).model_dump()

    @lambda_entry("transformer")
    def transformer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return transform(parse_event(Extracted, event, "transformer"), deps()).model_dump()

    @lambda_entry("loader")
    def loader(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # "crashes after batch k" means one batch after another: such a loader sends one at a time
        crashing = event.get("client_id") in injections.crash_after_batches
        return handle_load(event, deps(1 if crashing else None))

    return {EXTRACTOR: extractor, TRANSFORMER: transformer, LOADER: loader}


@dataclass
class ReliabilityEngine(E2eEngine):
    """The e2e engine plus what the harness records and injects."""

    waits: WaitLog = field(default_factory=WaitLog)
    injections: Injections = field(default_factory=Injections)
    workflow_waits: list[float] = field(default_factory=list)

    def execution_arns(self) -> list[str]:
        """Every execution of the workflow so far."""
        paginator = self.deployment.client("stepfunctions").get_paginator("list_executions")
        arns: list[str] = []
        for page in paginator.paginate(stateMachineArn=self.provisioned.state_machine_arn):
            arns.extend(item["executionArn"] for item in page.get("executions", []))
        return arns


# --- worlds -------------------------------------------------------------------------------


def renamed_catalog(catalog: Catalog, tag: str) -> Catalog:
    """The same catalog with item codes PROD... renamed TAG..., so clients never share an id."""

    def rename(text: Any) -> Any:
        return text.replace("PROD", tag) if isinstance(text, str) else text

    records = [
        {**record, "f_codigo": rename(record["f_codigo"])}
        | {"f_codigo_externo": rename(record.get("f_codigo_externo"))}
        for record in catalog.records()
    ]
    return Catalog(
        records,
        client=catalog.client,
        seed=catalog.seed,
        invalid={rename(code): kind for code, kind in catalog.invalid.items()},
        quirks={rename(code): quirks for code, quirks in catalog.quirks.items()},
    )


@dataclass
class SharedProducts:
    """One Kong and one WMS simulator that several clients share, each key reaching its tenant."""

    kong: KongSim
    kong_url: str
    wms: WmsSim
    wms_url: str


@contextmanager
def shared_products() -> Iterator[SharedProducts]:
    """Start a multi-tenant Kong and WMS on loopback."""
    with ExitStack() as stack:
        kong = KongSim(api_keys={})
        wms = WmsSim(api_keys={})
        kong_server = stack.enter_context(SimServer(kong.wsgi_app))
        wms_server = stack.enter_context(SimServer(wms.combined_app))
        yield SharedProducts(kong, f"{kong_server.url}/api/v1", wms, f"{wms_server.url}/api/v1")


@contextmanager
def world_on(
    spec: DemoClient,
    catalog: Catalog,
    products: SharedProducts,
    *,
    siesa_options: dict[str, Any] | None = None,
) -> Iterator[ClientWorld]:
    """A client with its own simulated ERP, loading into the shared Kong or WMS as its own tenant."""
    import secrets

    siesa_key, product_key = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    siesa = SiesaSim(catalog, api_keys=siesa_key, **(siesa_options or {}))
    product: KongSim | WmsSim
    if spec.product_type == "kong":
        product, url = products.kong, products.kong_url
    else:
        product, url = products.wms, products.wms_url
    product.keys.add(product_key, spec.client_id)
    with SimServer(siesa.wsgi_app) as server:
        yield ClientWorld(
            spec=spec,
            catalog=catalog,
            siesa=siesa,
            siesa_url=f"{server.url}/api/v1",
            product=product,
            product_url=url,
            service_endpoints={},
            siesa_key=siesa_key,
            product_key=product_key,
        )


@contextmanager
def world_with_product_app(
    spec: DemoClient,
    records: int,
    wrap: Callable[[Any], Any],
) -> Iterator[ClientWorld]:
    """A client whose product simulator is served through `wrap(app)` (a test-side fault)."""
    import secrets

    siesa_key, product_key = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    catalog = generate_catalog(records, spec.seed, client=spec.client_id)
    siesa = SiesaSim(catalog, api_keys=siesa_key)
    product: KongSim | WmsSim
    if spec.product_type == "kong":
        product = KongSim(api_keys={product_key: spec.client_id})
        app = product.wsgi_app
    else:
        product = WmsSim(api_keys={product_key: spec.client_id})
        app = product.combined_app
    with SimServer(siesa.wsgi_app) as erp, SimServer(wrap(app)) as served:
        yield ClientWorld(
            spec=spec,
            catalog=catalog,
            siesa=siesa,
            siesa_url=f"{erp.url}/api/v1",
            product=product,
            product_url=f"{served.url}/api/v1",
            service_endpoints={},
            siesa_key=siesa_key,
            product_key=product_key,
        )


def product_injectors(world: ClientWorld) -> Sequence[Any]:
    """Every fault injector of the client's product (WMS has one per service)."""
    if isinstance(world.product, WmsSim):
        return list(world.product.faults.values())
    return [world.product.faults]


def calm(world: ClientWorld) -> None:
    """Disarm every fault of the client's ERP and product (before reading them back)."""
    world.siesa.faults.reset()
    for injector in product_injectors(world):
        injector.reset()


def omitting_results(ids: set[str]) -> Callable[[Any], Any]:
    """A WSGI wrapper: bulk answers leave these ids' results out, once each (no verdict given).

    The product still stores the items: only its answer is incomplete, the
    case the adapter must report as retryable rather than as loaded.
    """
    import json

    left = set(ids)
    lock = threading.Lock()

    def wrap(app: Any) -> Any:
        def serve(environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO", "")
            if environ.get("REQUEST_METHOD") != "POST" or not path.endswith("/bulk"):
                return app(environ, start_response)
            captured: dict[str, Any] = {}

            def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                captured["status"], captured["headers"] = status, headers
                return lambda data: None

            body = b"".join(app(environ, keep))
            if captured["status"].startswith("200"):
                document = json.loads(body)
                with lock:
                    kept = [r for r in document["results"] if r.get("id") not in left]
                    left.difference_update(r.get("id") for r in document["results"])
                body = json.dumps({"results": kept}).encode()
            headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
            start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
            return [body]

        return serve

    return wrap


def bundle_prefix(engine: Any) -> str:
    """Where the current mapping bundle version's files are (`mappings/versions/{sha256}/`)."""
    from contract.versions import current_key, version_prefix
    from local.provision import MAPPINGS_PREFIX

    s3, bucket = engine.deployment.client("s3"), engine.deployment.bucket
    pointer = s3.get_object(Bucket=bucket, Key=current_key(MAPPINGS_PREFIX))["Body"].read()
    return version_prefix(MAPPINGS_PREFIX, json.loads(pointer)["sha256"])
