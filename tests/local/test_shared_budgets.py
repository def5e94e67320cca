"""Shared request budgets on the embedded AWS: four workers of one client, one budget.

The budgets table is the stack's (infra/template.yaml on moto); each worker
is a thread with a boto3 client of its own, signed with a tenant session of
the client, as separate invocations of one client (the loader's workers, a
Map state) are. The simulators count what they were sent, by arrival time:
the budget must hold in every window the ERP counts, and a 429 answered to
one worker must hold all four.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import boto3
import pytest

from local.embedded_aws import LocalAws
from local.provision import ProvisionResult, provision
from local.sim import KongSim, SiesaSim, SimServer, generate_catalog
from local.sim.ratelimit import busiest_window
from runtime.adapters.kong import KongAdapter
from runtime.budgets import Rate, TableBudget
from runtime.config import ClientConfig, ProductCredentials, SiesaCredentials
from runtime.siesa import RestSiesaSource
from runtime.tenant_session import TenantSession

CLIENT = "cliente-a"
WORKERS = 4
SIESA_KEY = "siesa-budget-key-7c1e"
KONG_KEY = "kong-budget-key-3f9a"
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[LocalAws, ProvisionResult]]:
    with LocalAws() as aws:
        yield aws, provision(aws, mappings_dir=None)


def tenant_dynamodb(aws: LocalAws, role_arn: str, stage: str) -> Any:
    """A DynamoDB client of its own, signed with a tenant session of the client (moto's STS)."""
    credentials = TenantSession(stage, CLIENT, role_arn).credentials()
    return boto3.session.Session().client(
        "dynamodb",
        region_name=aws.region,
        endpoint_url=aws.url,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )


def config(siesa_url: str, product_url: str) -> ClientConfig:
    return ClientConfig(
        client_id=CLIENT,
        client_name="Empresa A",
        product_type="kong",
        siesa_api_url=siesa_url,
        product_api_url=product_url,
    )


def together(work: Callable[[int], T]) -> list[T]:
    """`work(i)` for each of the workers, in threads that start at the same moment."""
    start = threading.Barrier(WORKERS, timeout=30)

    def run(index: int) -> T:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(run, range(WORKERS)))


def test_four_workers_sending_three_budgets_never_exceed_it_in_any_window(
    stack: tuple[LocalAws, ProvisionResult],
) -> None:
    aws, provisioned = stack
    limit, window = 10, 1.0
    # The ERP counts on arrival: on a busy machine, where four workers, moto and the
    # simulator share one interpreter, a request can arrive a few hundred ms after
    # its slot, so the guard is wider than a minute-long window's 1 s is to its window.
    rate = Rate(limit, window, guard_seconds=0.5)
    per_worker = 9  # 36 requests: more than three windows' worth
    catalog = generate_catalog(WORKERS * per_worker, 41, client=CLIENT)
    keys = catalog.ids()
    erp = SiesaSim(catalog, api_keys=SIESA_KEY, rate_limit=limit, rate_window_s=window)
    role = provisioned.outputs["ExtractorTenantRoleArn"]
    table = provisioned.outputs["BudgetsTableName"]

    with SimServer(erp.wsgi_app) as server:
        url = f"{server.url}/api/v1"

        def worker(index: int) -> list[str]:
            budget = TableBudget(
                table, "siesa", rate, dynamodb=tenant_dynamodb(aws, role, "extractor")
            )
            mine = keys[index * per_worker : (index + 1) * per_worker]
            with RestSiesaSource(
                config(url, "https://a.kong.example/api/v1"),
                SiesaCredentials(api_key=SIESA_KEY),
                budget=budget,
            ) as source:
                return [
                    str((source.fetch_record(key) or {}).get("f_codigo", "")).strip()
                    for key in mine
                ]

        fetched = together(worker)

    assert [key for got in fetched for key in got] == keys, "every request went through"
    entries = erp.log.entries()
    assert [entry.status for entry in entries] == [200] * len(keys), "the ERP never refused one"
    arrivals = [entry.arrived for entry in entries]
    assert busiest_window(arrivals, window) <= limit
    # held back, not just lucky: 36 requests at 9 per 1.5 s after a burst of 1 take about 5.8 s
    assert max(arrivals) - min(arrivals) >= (len(keys) - rate.burst) * rate.interval * 0.9


def test_a_429_answered_to_one_worker_pauses_all_four(
    stack: tuple[LocalAws, ProvisionResult],
) -> None:
    aws, provisioned = stack
    retry_after, per_worker = 1, 20
    kong = KongSim(api_keys={KONG_KEY: CLIENT})
    kong.faults.set(latency_ms=40, rate_limit_at_request=13, retry_after=retry_after)
    role = provisioned.outputs["LoaderTenantRoleArn"]
    table = provisioned.outputs["BudgetsTableName"]

    with SimServer(kong.wsgi_app) as server:
        url = f"{server.url}/api/v1"
        credentials = ProductCredentials(
            product_type="kong",
            api_url=url,
            api_key=KONG_KEY,
            additional_config={"rfid_enabled": False},
        )

        def worker(index: int) -> int:
            # the product's default: no rate cap, only the pauses its 429s ask for
            budget = TableBudget(
                table, "product", Rate(None, 60.0), dynamodb=tenant_dynamodb(aws, role, "loader")
            )
            loaded = 0
            with KongAdapter(
                credentials, config("https://a.siesa.example", url), budget=budget
            ) as adapter:
                for n in range(per_worker):
                    code = f"W{index}-{n}"
                    product = {"product_id": code, "external_reference": code, "name": code}
                    product["quantity"] = 1
                    loaded += len(adapter.load_batch([product]).succeeded)
            return loaded

        loaded = together(worker)

    assert loaded == [per_worker] * WORKERS, "all requests eventually went through"
    entries = kong.log.entries()
    (refused,) = [entry for entry in entries if entry.status == 429]
    t0 = refused.arrived
    before = [e.arrived for e in entries if t0 - retry_after <= e.arrived < t0]
    # requests taken before the 429's answer reached its worker and the pause was stored
    # may still arrive just after it; from then on, none until the Retry-After is over
    held = [e.arrived for e in entries if t0 + 0.25 <= e.arrived < t0 + retry_after]
    after = [e.arrived for e in entries if e.arrived >= t0 + retry_after]
    assert len(before) >= WORKERS, "all four were sending"
    assert held == [], "no worker sent during the pause"
    assert len(after) >= WORKERS, "and all of them went on after it"
