"""Stock benchmark: a stock-only sync beside the full sync of the same catalog.

    .venv/bin/python benchmarks/stock.py [--products 10000] [--changed 200] [--latency-ms 20]

One Kong client and one WMS client, each with its own simulated Siesa and
product in their own processes (as benchmarks/sync.py runs them), through
the embedded AWS and the real handlers: an initial sync of `--products`
records, then the stock of `--changed` valid items rises in the ERP (POST
/_sim/stock: their modification time stays), then a `sync_type: stock` run.
The clients take their quantity from warehouse BOD-01 (`stock.warehouse`),
the warehouse the mappings read, so exactly the changed items differ.

Per sync: wall time of the execution, the calls each API answered, and the
records sent. Every simulator answers each request after `--latency-ms`.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, Path(__file__).parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from sync import (  # noqa: E402
    MOTO_S3_BUFFER_BYTES,
    MeasuredHandler,
    SimProcess,
    StoreTimer,
    _cpu_model,
    quiet_engine,
    siesa_sim,
    sim_process,
)

import ops  # noqa: E402
from local.lambda_dispatch import DEFAULT_HANDLERS  # noqa: E402

WAREHOUSE = "BOD-01"


@dataclass(frozen=True)
class Figures:
    """One sync of one client."""

    product_type: str
    sync_type: str
    status: str
    wall_seconds: float
    siesa_calls: int
    product_calls: int
    sent: int
    stage_seconds: tuple[float, float, float]
    store_seconds: float
    """Of the loader's time, what keeping the records sent took (runtime/stock_store.py)."""


def _synced(
    deployment: ops.Deployment,
    handlers: dict[str, MeasuredHandler],
    timer: StoreTimer,
    client_id: str,
    sync_type: str,
    product_type: str,
    siesa: SimProcess,
    product: SimProcess,
) -> Figures:
    """Run one sync and read its figures; the simulators' request logs start empty."""
    for sim in (siesa, product):
        httpx.delete(f"{sim.url}/_sim/requests", timeout=30).raise_for_status()
    for handler in handlers.values():
        handler.reset(trace=False)
    timer.seconds = 0.0
    outcome = ops.run_sync(client_id, sync_type, deployment=deployment)
    if outcome.summary is None:
        raise RuntimeError(f"{client_id} {sync_type}: failed: {outcome.error}: {outcome.cause}")
    return Figures(
        product_type=product_type,
        sync_type=sync_type,
        status=outcome.status,
        wall_seconds=outcome.duration_seconds or 0.0,
        siesa_calls=siesa.requests(),
        product_calls=product.requests(),
        sent=int(outcome.summary.get("records_processed") or 0),
        stage_seconds=tuple(  # type: ignore[arg-type]
            sum(handlers[name].seconds) for name in sorted(handlers, key=_stage)
        ),
        store_seconds=timer.seconds,
    )


def _stage(function_name: str) -> int:
    return ["extractor", "transformer", "loader"].index(function_name.rsplit("-", 1)[-1])


def run_client(
    deployment: ops.Deployment,
    handlers: dict[str, MeasuredHandler],
    timer: StoreTimer,
    product_type: str,
    args: argparse.Namespace,
) -> list[Figures]:
    """A client's full sync, then its stock changes, then its stock-only sync."""
    client_id = f"bench-stock-{product_type}"
    siesa_key, product_key = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    with ExitStack() as stack:
        siesa = stack.enter_context(siesa_sim(args.products, args.seed, client_id, siesa_key))
        product = stack.enter_context(sim_process(product_type, "--api-key", product_key))
        siesa.post_faults(latency_ms=args.latency_ms)
        services = ("inventory", "warehouse") if product_type == "wms" else (None,)
        for service in services:
            product.post_faults(
                latency_ms=args.latency_ms, **({"service": service} if service else {})
            )
        ops.add_client(
            {
                "client_id": client_id,
                "client_name": f"Stock benchmark {product_type}",
                "product_type": product_type,
                "siesa_api_url": f"{siesa.url}/api/v1",
                "product_api_url": f"{product.url}/api/v1",
                "stock": {"warehouse": WAREHOUSE},
            },
            {"api_key": siesa_key},
            {
                "product_type": product_type,
                "api_url": f"{product.url}/api/v1",
                "api_key": product_key,
            },
            deployment=deployment,
        )
        full = _synced(
            deployment, handlers, timer, client_id, "initial", product_type, siesa, product
        )
        changed = httpx.post(
            f"{siesa.url}/_sim/stock",
            json={"count": args.changed, "warehouse": WAREHOUSE},
            timeout=30,
        ).json()["changed"]
        stock = _synced(
            deployment, handlers, timer, client_id, "stock", product_type, siesa, product
        )
        if stock.sent != len(changed):
            raise RuntimeError(
                f"{client_id}: the stock sync sent {stock.sent}, {len(changed)} changed"
            )
        return [full, stock]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20250115)
    args = parser.parse_args()
    os.environ["MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"] = str(MOTO_S3_BUFFER_BYTES)
    handlers = {name: MeasuredHandler(target) for name, target in DEFAULT_HANDLERS.items()}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {_cpu_model()}, "
        f"Python {platform.python_version()}",
        flush=True,
    )
    figures: list[Figures] = []
    timer = StoreTimer()
    with quiet_engine(handlers=dict(handlers)) as (_, deployment):
        for product_type in ("kong", "wms"):
            figures.extend(run_client(deployment, handlers, timer, product_type, args))
    print(
        f"\n### Stock-only sync vs full sync: {args.products:,} products, {args.changed} changed, "
        f"{args.latency_ms} ms per call\n"
    )
    print(
        "| client | sync | wall | extract / transform / load | of which keeping records sent "
        "| calls Siesa | calls product | records processed | status |"
    )
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for item in figures:
        stages = " / ".join(f"{seconds:.1f} s" for seconds in item.stage_seconds)
        print(
            f"| {item.product_type} | {item.sync_type} | {item.wall_seconds:.1f} s | {stages} "
            f"| {item.store_seconds:.1f} s | {item.siesa_calls} | {item.product_calls} "
            f"| {item.sent:,} | {item.status} |"
        )


if __name__ == "__main__":
    main()
