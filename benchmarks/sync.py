"""Sync benchmark: full syncs through the local engine and the simulators, against the API floor.

    .venv/bin/python benchmarks/sync.py [--products 10000] [--latency-ms 20]
                                        [--memory-sizes 10000,100000] [--memory-latency-ms 0]

One Kong client and one WMS client, each with its own simulated Siesa and
product, run an initial sync of `--products` records through the embedded
AWS: Step Functions (moto) executing infra/statemachine.asl.json, the real
extractor, transformer and loader, the compiled mappings of mappings/. Every
simulator answers each request after `--latency-ms`.

Timed pass (no tracing): wall time of each execution, records per second,
HTTP calls each API answered, and the floor the APIs set: the ERP serves
pages of 1,000, one after another, within the client's budget of 100
requests per minute (10 at once, then one every 61/90 s: runtime/budgets.py);
the products take batches of 100, two calls per batch (Kong: products then
RFID tags; WMS: items then locations, plus one zone listing), the loader
sending the client's `product_concurrency` (4) batches at once.
floor = ERP pages at max(latency, budget interval) + product calls x latency
/ concurrency, and achieved/floor says how close the engine gets.

Memory pass (tracemalloc on, latency `--memory-latency-ms`): the peak memory
each handler allocates during its invocation, for each of `--memory-sizes`,
to show it stays flat as the catalog grows. The simulators run in their own
processes and moto keeps S3 bodies on disk here, so the peak is the
handler's (plus moto's handling of its requests), not the simulated
product's growing store.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import ops  # noqa: E402
from local.embedded_aws import LocalAws  # noqa: E402
from local.lambda_dispatch import DEFAULT_HANDLERS  # noqa: E402
from local.provision import provision  # noqa: E402
from runtime.budgets import Rate  # noqa: E402
from runtime.config import (  # noqa: E402
    DEFAULT_PRODUCT_CONCURRENCY,
    DEFAULT_SIESA_REQUESTS_PER_MINUTE,
)

SIESA_PAGE = 1000
ERP_RATE = Rate(DEFAULT_SIESA_REQUESTS_PER_MINUTE, 60.0)
PRODUCT_BATCH = 100
CALLS_PER_BATCH = 2
ADAPTER_CONCURRENCY = DEFAULT_PRODUCT_CONCURRENCY
READY_DEADLINE_SECONDS = 120.0
POLL_SECONDS = 0.5
MOTO_S3_BUFFER_BYTES = 64 * 1024
"""S3 bodies above this go to temporary files: run data must not pile up in this process."""


# --- handlers, measured ------------------------------------------------------------------------


@dataclass
class MeasuredHandler:
    """A handler that records its wall and CPU time and, when tracing, its peak allocation.

    CPU time is the process's (`time.process_time`): the handler's threads and
    the embedded AWS serving them, not the simulators (other processes). On a
    machine shared with other jobs it says the engine's own cost better than
    wall time, which waits for the cores too.
    """

    target: str
    trace: bool = False
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        module, _, name = self.target.partition(":")
        self._handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module), name)

    def __call__(self, event: Any, context: Any) -> Any:
        base = 0
        if self.trace:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        began, cpu = time.perf_counter(), time.process_time()
        try:
            return self._handler(event, context)
        finally:
            self.seconds.append(time.perf_counter() - began)
            self.cpu_seconds.append(time.process_time() - cpu)
            if self.trace:
                self.peaks.append(tracemalloc.get_traced_memory()[1] - base)

    def reset(self, trace: bool) -> None:
        self.trace = trace
        self.seconds.clear()
        self.cpu_seconds.clear()
        self.peaks.clear()


@contextmanager
def quiet_engine(**engine: Any) -> Iterator[tuple[LocalAws, ops.Deployment]]:
    """The embedded AWS, provisioned, with the handlers' log lines and metrics sent to /dev/null.

    `engine`: LocalAws's keywords (handlers, isolated, lambda_timeout, ...).
    """
    with open(os.devnull, "w") as quiet, redirect_stdout(quiet), LocalAws(0, **engine) as aws:
        provision(aws)
        yield aws, ops.Deployment(aws.url)


class StoreTimer:
    """Times the loader's `remember_loaded` (the per-client store of records sent): wall and CPU."""

    def __init__(self) -> None:
        import runtime.handlers.load_run as load_run

        self.seconds = self.cpu_seconds = 0.0
        self._module = load_run
        self._inner = load_run.remember_loaded
        load_run.remember_loaded = self

    def __call__(self, *args: Any, **kwargs: Any) -> int:
        began, cpu = time.perf_counter(), time.process_time()
        try:
            return self._inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began
            self.cpu_seconds += time.process_time() - cpu


# --- simulators in their own processes -----------------------------------------------------------


@dataclass
class SimProcess:
    """A `siesa sim ...` process and its base URL."""

    process: subprocess.Popen[bytes]
    url: str

    def post_faults(self, **knobs: Any) -> None:
        httpx.post(f"{self.url}/_sim/faults", json=knobs, timeout=10).raise_for_status()

    def requests(self) -> int:
        response = httpx.get(f"{self.url}/_sim/requests", timeout=60)
        response.raise_for_status()
        return len(response.json()["requests"])


@contextmanager
def sim_process(*args: str) -> Iterator[SimProcess]:
    """Start `siesa sim ARGS --port 0` and wait for its `ready:` line."""
    # appending: the child shares this file's offset, which reading it here moves, and a line
    # it wrote at the start would overwrite the `ready:` line
    with tempfile.TemporaryFile(mode="a+b") as output:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        for name in [name for name in env if name.startswith("AWS_")]:
            del env[name]
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "sim", *args, "--port", "0"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + READY_DEADLINE_SECONDS
            url = ""
            while not url:
                output.seek(0)
                for line in output.read().decode(errors="replace").splitlines():
                    if line.startswith("ready: "):
                        url = line.removeprefix("ready: ").strip()
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    raise RuntimeError(f"siesa sim {args[0]} did not start:\n{output.read()!r}")
                time.sleep(0.05)
            yield SimProcess(process, url)
        finally:
            process.terminate()
            process.wait(timeout=30)


def siesa_sim(
    products: int, seed: int, client_id: str, api_key: str, start: datetime | None = None
) -> Any:
    """A Siesa simulator process serving `client_id` a seeded catalog of `products` records.

    `start`: when its first record was modified (the simulator's default otherwise).
    """
    where = ["--catalog-start", start.strftime("%Y-%m-%dT%H:%M:%S")] if start else []
    return sim_process(
        "siesa",
        "--products",
        str(products),
        "--seed",
        str(seed),
        "--client",
        client_id,
        "--api-key",
        api_key,
        *where,
    )


# --- one client's sync ------------------------------------------------------------------------


@dataclass
class SyncFigures:
    """What one client's sync took."""

    client_id: str
    product_type: str
    products: int
    latency_ms: int
    status: str
    wall_seconds: float
    stage_seconds: dict[str, float]
    siesa_calls: int
    product_calls: int
    peaks: dict[str, int]
    stage_cpu_seconds: dict[str, float] = field(default_factory=dict)
    """Each stage's invocations' process CPU, summed: invocations that run at once (a Map
    state's) each count the others' CPU too, so only `cpu_seconds` adds up."""
    cpu_seconds: float = 0.0
    """The engine process's CPU over the whole sync: handlers and the embedded AWS."""
    store_seconds: float = 0.0
    """Of the loader's time, what keeping the records sent took (runtime/stock_store.py)."""
    store_cpu_seconds: float = 0.0

    @property
    def records_per_second(self) -> float:
        return self.products / self.wall_seconds

    @property
    def floor_calls(self) -> tuple[int, int]:
        """The fewest calls the APIs allow: ERP pages, product batch calls."""
        pages = math.ceil(self.products / SIESA_PAGE)
        product = math.ceil(self.products / PRODUCT_BATCH) * CALLS_PER_BATCH
        return pages, product + (1 if self.product_type == "wms" else 0)

    @property
    def floor_seconds(self) -> float:
        """Time those calls take at this latency, the ERP's pages paced by the client's budget."""
        pages, product = self.floor_calls
        latency = self.latency_ms / 1000
        burst = min(pages, ERP_RATE.burst)
        extraction = burst * latency + (pages - burst) * max(latency, ERP_RATE.interval)
        return extraction + product / ADAPTER_CONCURRENCY * latency


def quietly_synced(deployment: ops.Deployment, client_id: str) -> Any:
    """An initial sync, started and waited for by its status alone, then its outcome (ops.wait).

    `ops.run_sync` reads the whole execution history every half second for
    its progress lines, and here moto serializes it and botocore parses it
    in the engine's own process: about 2 s of CPU per 10,000-product sync
    with the per-page Map state (profiled), growing with the run and its
    history. A terminal on AWS pays that on the operator's machine, not in
    the engine, so the benchmark waits on `DescribeExecution` and reads the
    history once at the end.
    """
    started = ops.start_sync(client_id, "initial", deployment=deployment)
    stepfunctions = deployment.client("stepfunctions")
    while (
        stepfunctions.describe_execution(executionArn=started.execution_arn)["status"] == "RUNNING"
    ):
        time.sleep(POLL_SECONDS)
    return ops.wait(started, deployment=deployment)


def run_client(
    deployment: ops.Deployment,
    handlers: dict[str, MeasuredHandler],
    product_type: str,
    products: int,
    latency_ms: int,
    seed: int,
    tag: str,
    timer: StoreTimer,
) -> SyncFigures:
    """Start a client's simulators, register it, run an initial sync, read the figures."""
    client_id = f"bench-{product_type}-{tag}"
    siesa_key, product_key = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    with ExitStack() as stack:
        siesa = stack.enter_context(siesa_sim(products, seed, client_id, siesa_key))
        product = stack.enter_context(sim_process(product_type, "--api-key", product_key))
        siesa.post_faults(latency_ms=latency_ms)
        if product_type == "wms":
            for service in ("inventory", "warehouse"):
                product.post_faults(service=service, latency_ms=latency_ms)
        else:
            product.post_faults(latency_ms=latency_ms)
        ops.add_client(
            {
                "client_id": client_id,
                "client_name": f"Benchmark {product_type}",
                "product_type": product_type,
                "siesa_api_url": f"{siesa.url}/api/v1",
                "product_api_url": f"{product.url}/api/v1",
            },
            {"api_key": siesa_key},
            {
                "product_type": product_type,
                "api_url": f"{product.url}/api/v1",
                "api_key": product_key,
            },
            deployment=deployment,
        )
        timer.seconds = timer.cpu_seconds = 0.0
        cpu = time.process_time()
        outcome = quietly_synced(deployment, client_id)
        cpu = time.process_time() - cpu
        if outcome.summary is None:
            raise RuntimeError(f"{client_id}: the sync failed: {outcome.error}: {outcome.cause}")
        return SyncFigures(
            client_id=client_id,
            product_type=product_type,
            products=products,
            latency_ms=latency_ms,
            status=outcome.status,
            wall_seconds=outcome.duration_seconds or 0.0,
            stage_seconds={name: sum(h.seconds) for name, h in handlers.items()},
            siesa_calls=siesa.requests(),
            product_calls=product.requests(),
            peaks={name: max(h.peaks, default=0) for name, h in handlers.items()},
            stage_cpu_seconds={name: sum(h.cpu_seconds) for name, h in handlers.items()},
            store_seconds=timer.seconds,
            store_cpu_seconds=timer.cpu_seconds,
            cpu_seconds=cpu,
        )


# --- the benchmark ----------------------------------------------------------------------------


def short(function_name: str) -> str:
    return function_name.removeprefix("siesa-integration-")


def print_timed(figures: list[SyncFigures]) -> None:
    print("\n### Timed pass\n")
    print(
        "| client | records | latency | wall | extract / transform / load "
        "| CPU extract / transform / load | engine CPU | keeping records sent (CPU) | records/s "
        "| calls Siesa + product | floor calls | floor | achieved/floor |"
    )
    print(
        "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    for item in figures:
        stages = " / ".join(
            f"{item.stage_seconds[name]:.1f} s" for name in sorted(item.stage_seconds, key=_stage)
        )
        cpu = " / ".join(
            f"{item.stage_cpu_seconds[name]:.1f} s"
            for name in sorted(item.stage_cpu_seconds, key=_stage)
        )
        pages, product = item.floor_calls
        print(
            f"| {item.product_type} | {item.products:,} | {item.latency_ms} ms "
            f"| {item.wall_seconds:.1f} s | {stages} | {cpu} | {item.cpu_seconds:.1f} s "
            f"| {item.store_seconds:.1f} s ({item.store_cpu_seconds:.1f} s) "
            f"| {item.records_per_second:,.0f} "
            f"| {item.siesa_calls} + {item.product_calls} | {pages} + {product} "
            f"| {item.floor_seconds:.1f} s | {item.wall_seconds / item.floor_seconds:.1f}x |"
        )


def print_memory(figures: list[SyncFigures]) -> None:
    print("\n### Memory pass (tracemalloc, peak allocated during each invocation)\n")
    print("| client | records | extractor | transformer | loader | wall |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for item in figures:
        peaks = " | ".join(
            f"{item.peaks[name] / 2**20:.1f} MB" for name in sorted(item.peaks, key=_stage)
        )
        print(f"| {item.product_type} | {item.products:,} | {peaks} | {item.wall_seconds:.1f} s |")


def _stage(function_name: str) -> int:
    return ["extractor", "transformer", "loader"].index(short(function_name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--memory-sizes", default="10000,100000")
    parser.add_argument("--memory-latency-ms", type=int, default=0)
    parser.add_argument("--seed", type=int, default=20250115)
    args = parser.parse_args()
    sizes = [int(size) for size in args.memory_sizes.split(",") if size.strip()]

    os.environ["MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"] = str(MOTO_S3_BUFFER_BYTES)
    handlers = {name: MeasuredHandler(target) for name, target in DEFAULT_HANDLERS.items()}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {_cpu_model()}, "
        f"Python {platform.python_version()}",
        flush=True,
    )
    timed, memory = _run(handlers, args, sizes)
    print_timed(timed)
    print_memory(memory)


def _run(
    handlers: dict[str, MeasuredHandler], args: argparse.Namespace, sizes: list[int]
) -> tuple[list[SyncFigures], list[SyncFigures]]:
    """Both passes, with the handlers' log lines and metrics sent to /dev/null."""
    timed: list[SyncFigures] = []
    memory: list[SyncFigures] = []
    timer = StoreTimer()
    with quiet_engine(handlers=dict(handlers)) as (_, deployment):
        for product_type in ("kong", "wms"):
            for handler in handlers.values():
                handler.reset(trace=False)
            timed.append(
                run_client(
                    deployment,
                    handlers,
                    product_type,
                    args.products,
                    args.latency_ms,
                    args.seed,
                    "timed",
                    timer,
                )
            )
        tracemalloc.start()
        try:
            for size in sizes:
                for product_type in ("kong", "wms"):
                    for handler in handlers.values():
                        handler.reset(trace=True)
                    memory.append(
                        run_client(
                            deployment,
                            handlers,
                            product_type,
                            size,
                            args.memory_latency_ms,
                            args.seed,
                            f"mem{size // 1000}k",
                            timer,
                        )
                    )
        finally:
            tracemalloc.stop()
    return timed, memory


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
