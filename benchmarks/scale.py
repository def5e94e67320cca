"""Scale benchmark: large catalogs through the local engine, each invocation measured in its own process.

    nice -n 10 .venv/bin/python benchmarks/scale.py [--products 100000,1000000]
                                                    [--product-type kong] [--lambda-timeout S]

For each size, one client (Kong by default, `--product-type wms` for WMS) with
its own simulated Siesa and product (processes of their own, answering at
once: 0 ms latency) runs an initial sync through the embedded AWS with every
Lambda invocation in a forked child killed at the function's timeout (the
template's, or `--lambda-timeout`), as AWS would stop it. The ERP's rate
budget is lifted for this run (the client's `siesa_requests_per_minute` at
its maximum, and the simulated ERP's own limit with it), and the output says
so: the budget paces the run, it does not change what an invocation holds.

Printed per function (grouped by the function name the engine saw, whatever
the state machine invokes): invocations, failed ones, the longest and the
median invocation's time, and the most (and the median) memory one grew to:
its child's peak RSS minus its RSS at fork (local/child_memory.py), so a
one-off invocation (the run's finish step) stands out from the per-page
ones. The engine's own pages (moto and what it stores) do not count.
Beside it, the RSS of a fresh interpreter that imported the function's
handler: on AWS a function holds both. Then the wall time of each run,
and the ratio of each function's largest growth between the largest and the
smallest size (within 10% is the target: no invocation grows with the
catalog).
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import sync as sync_bench  # benchmarks/sync.py: simulator processes, the machine's description

import ops
from local.embedded_aws import LocalAws
from local.invocation_log import SUCCEEDED, Invocation
from local.lambda_dispatch import DEFAULT_HANDLERS
from runtime.config import MAX_REQUESTS_PER_MINUTE

MB = 2**20
TARGET_MB = 200
TARGET_RATIO = 1.10


@dataclass(frozen=True)
class FunctionFigures:
    """One function's invocations in one run."""

    invocations: int
    failed: int
    longest_seconds: float
    median_seconds: float
    most_grown: int | None
    median_grown: int | None

    @classmethod
    def of(cls, records: list[Invocation]) -> FunctionFigures:
        grown = [item.memory.grown for item in records if item.memory is not None]
        return cls(
            invocations=len(records),
            failed=sum(1 for item in records if item.outcome != SUCCEEDED),
            longest_seconds=max(item.seconds for item in records),
            median_seconds=statistics.median(item.seconds for item in records),
            most_grown=max(grown) if grown else None,
            median_grown=int(statistics.median(grown)) if grown else None,
        )


@dataclass(frozen=True)
class ScaleRun:
    """One size's sync: how it ended, its wall time, and its functions' figures."""

    products: int
    status: str
    records: int | None
    wall_seconds: float
    functions: dict[str, FunctionFigures]
    failed: int | None = None
    """Records the run reported failed (the catalog's invalid ones, 2%): the finish step holds
    them for the retry state and the alert, so its memory follows them."""


def by_function(records: Iterable[Invocation]) -> dict[str, FunctionFigures]:
    """Invocations grouped by function name and step (`[page]`, `[finish]`), in the order each
    first ended."""
    grouped: dict[str, list[Invocation]] = defaultdict(list)
    for item in records:
        grouped[item.label].append(item)
    return {name: FunctionFigures.of(items) for name, items in grouped.items()}


def import_baseline(target: str) -> int:
    """RSS of a fresh interpreter that imported a handler's module (what a cold Lambda holds)."""
    module = target.partition(":")[0]
    code = (
        "import importlib, sys; importlib.import_module(sys.argv[1]); "
        "from local.child_memory import own_peak; print(own_peak())"
    )
    found = subprocess.run(
        [sys.executable, "-c", code, module],
        cwd=sync_bench.REPO,
        env={**os.environ, "PYTHONPATH": str(sync_bench.REPO)},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(found.stdout.split()[-1])


def run_size(
    aws: LocalAws, deployment: ops.Deployment, product_type: str, products: int, seed: int
) -> ScaleRun:
    """One client's initial sync of `products` records, rate budget lifted, invocations recorded."""
    client_id = f"scale-{product_type}-{products}"
    siesa_key, product_key = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    with ExitStack() as stack:
        siesa = stack.enter_context(
            sync_bench.sim_process(
                "siesa",
                *("--products", str(products), "--seed", str(seed), "--client", client_id),
                *("--api-key", siesa_key, "--rate-limit", str(MAX_REQUESTS_PER_MINUTE)),
            )
        )
        product = stack.enter_context(
            sync_bench.sim_process(product_type, "--api-key", product_key)
        )
        ops.add_client(
            {
                "client_id": client_id,
                "client_name": f"Scale {product_type} {products}",
                "product_type": product_type,
                "siesa_api_url": f"{siesa.url}/api/v1",
                "product_api_url": f"{product.url}/api/v1",
                "siesa_requests_per_minute": MAX_REQUESTS_PER_MINUTE,
            },
            {"api_key": siesa_key},
            {
                "product_type": product_type,
                "api_url": f"{product.url}/api/v1",
                "api_key": product_key,
            },
            deployment=deployment,
        )
        aws.clear_invocations()
        began = time.perf_counter()
        outcome = ops.run_sync(client_id, "initial", deployment=deployment)
        wall = time.perf_counter() - began
        return ScaleRun(
            products=products,
            status=outcome.status if outcome.summary is not None else f"failed: {outcome.error}",
            records=outcome.records_extracted,
            wall_seconds=wall,
            functions=by_function(aws.invocations()),
            failed=(outcome.summary or {}).get("records_failed"),
        )


def _mb(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MB:.1f} MB"


def print_run(run: ScaleRun, baselines: dict[str, int]) -> None:
    print(
        f"\n### {run.products:,} products: {run.status}, {run.records} records extracted, "
        f"{run.failed} failed, wall {run.wall_seconds:.1f} s\n"
    )
    print(
        "| function | invocations | failed | longest | median | most grown (peak RSS - RSS at fork) "
        "| median grown | fresh import RSS | sum |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, item in run.functions.items():
        base = baselines.get(name.split(" [", 1)[0])
        total = None if base is None or item.most_grown is None else base + item.most_grown
        print(
            f"| {sync_bench.short(name)} | {item.invocations} | {item.failed} "
            f"| {item.longest_seconds:.1f} s | {item.median_seconds:.1f} s "
            f"| {_mb(item.most_grown)} | {_mb(item.median_grown)} | {_mb(base)} "
            f"| {_mb(total)} |"
        )


def _grown(run: ScaleRun, name: str) -> int | None:
    found = run.functions.get(name)
    return None if found is None else found.most_grown


def print_ratios(runs: list[ScaleRun]) -> None:
    """Largest growth per function at the largest size over the smallest (target: within 10%)."""
    small, large = min(runs, key=lambda r: r.products), max(runs, key=lambda r: r.products)
    print(f"\n### {large.products:,} over {small.products:,} products\n")
    print("| function | most grown, small | most grown, large | ratio | wall ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in [
        *large.functions,
        *(name for name in small.functions if name not in large.functions),
    ]:
        before, after = (_grown(run, name) for run in (small, large))
        ratio = f"{after / before:.2f}" if before and after is not None else "n/a"
        print(
            f"| {sync_bench.short(name)} | {_mb(before)} | {_mb(after)} | {ratio} "
            f"| {large.wall_seconds / small.wall_seconds:.1f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", default="100000,1000000")
    parser.add_argument("--product-type", choices=("kong", "wms"), default="kong")
    parser.add_argument("--lambda-timeout", type=float, default=None)
    parser.add_argument("--seed", type=int, default=20250115)
    args = parser.parse_args()
    sizes = [int(size) for size in args.products.split(",") if size.strip()]

    os.environ["MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"] = str(sync_bench.MOTO_S3_BUFFER_BYTES)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {sync_bench._cpu_model()}, "
        f"Python {platform.python_version()}",
        flush=True,
    )
    print(
        f"client: {args.product_type}; simulators at 0 ms; ERP rate budget LIFTED for this run "
        f"(siesa_requests_per_minute and the simulated ERP's limit {MAX_REQUESTS_PER_MINUTE:,} "
        "a minute, not 100); "
        "every invocation in its own forked child, killed at "
        + (f"{args.lambda_timeout:g} s" if args.lambda_timeout else "the template's timeout"),
        flush=True,
    )
    baselines = {name: import_baseline(target) for name, target in DEFAULT_HANDLERS.items()}
    runs: list[ScaleRun] = []
    for size in sizes:
        runs.append(_measure(args, size))
        print_run(runs[-1], baselines)
        sys.stdout.flush()
    if len(runs) > 1:
        print_ratios(runs)


def _measure(args: argparse.Namespace, size: int) -> ScaleRun:
    """One size on a fresh embedded AWS, the handlers' log lines sent to /dev/null."""
    real_stdout: Any = sys.stdout
    with sync_bench.quiet_engine(
        isolated=True, lambda_timeout=args.lambda_timeout, record_invocations=True
    ) as (aws, deployment):
        print(f"running {size:,} products ...", file=real_stdout, flush=True)
        return run_size(aws, deployment, args.product_type, size, args.seed)


if __name__ == "__main__":
    main()
