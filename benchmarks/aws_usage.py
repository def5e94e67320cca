"""AWS usage benchmark: what one client's runs ask of AWS, counted, and what a month of them costs.

    .venv/bin/python benchmarks/aws_usage.py [--products 10000[,100000...]] [--latency-ms 50]
                                             [--sync-types initial,incremental,stock]
                                             [--extrapolate-to 1000000]

One Kong client with its own simulated Siesa and Kong (processes of their
own, answering after `--latency-ms`) runs, through the embedded AWS, each of
`--sync-types` once: an initial sync of `--products` records first (it also
gives the later runs their watermark and the product its records), then an
incremental sync (nothing changed: the fixed cost every scheduled run pays)
and, when the platform knows the sync type, a stock-only sync.

Counted per run, from the requests themselves (local/request_census.py, a
WSGI wrapper in front of moto; the handlers and the Step Functions
interpreter both reach AWS over HTTP): requests per service and operation,
each Lambda invocation and its wall time, the state transitions of the
execution (its history's `StateEntered` events), and the bytes the handlers
log (their stdout: log lines and the EMF metric lines CloudWatch ingests).

The month is priced from those counts at published us-east-1 list prices
(`PRICES`; no free tier) in docs/cost.md, beside the design document's
estimate. Several `--products` sizes are measured one after the other (each
client with simulators of its own); `--extrapolate-to` prices larger sizes on
the line through the two largest measured months, and says it is an
extrapolation. Lambda time is the local wall time of each invocation, at the
simulated API latency: on AWS, time spent waiting on the APIs is billed alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sync as sync_bench  # benchmarks/sync.py: simulator processes, measured handlers

import ops
from local.embedded_aws import LocalAws
from local.lambda_dispatch import DEFAULT_HANDLERS
from local.provision import provision
from local.request_census import RequestCensus

REPO = Path(__file__).resolve().parents[1]

# Lambda memory per function, as infra/template.yaml configures it (MB).
MEMORY_MB = {
    "siesa-integration-extractor": 512,
    "siesa-integration-transformer": 256,
    "siesa-integration-loader": 512,
}


# us-east-1 list prices in USD, as AWS publishes them (December 2026), no free tier.
PRICES = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86
    "state_transition": 0.025 / 1000,  # Standard workflows
    "s3_write": 0.005 / 1000,  # PUT, COPY, POST, LIST
    "s3_read": 0.0004 / 1000,  # GET and the rest
    "s3_gb_month": 0.023,
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand, per write request unit (1 KB)
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand, per read request unit (4 KB)
    "secret_month": 0.40,
    "secrets_call": 0.05 / 10_000,
    "kms_key_month": 1.00,
    "kms_call": 0.03 / 10_000,
    "logs_ingested_gb": 0.50,
    "logs_stored_gb_month": 0.03,
    "metric_month": 0.30,
    "alarm_month": 0.10,
    "sns_publish": 0.50 / 1e6,
}
S3_WRITES = {"PutObject", "CopyObject", "ListObjectsV2", "ListObjects", "DeleteObjects"}
DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}
# Operator-side calls of `siesa sync` (start, follow): a scheduled run makes none, and
# Step Functions bills transitions, not API calls.
OPERATOR_CALLS = {
    ("states", "StartExecution"),
    ("states", "DescribeExecution"),
    ("states", "GetExecutionHistory"),
}
SECRETS_PER_CLIENT = 2
SHARED_KMS_KEYS = 5
SHARED_ALARMS = 5
DAYS = 30


@dataclass(frozen=True)
class RunUsage:
    """What one run asked of AWS."""

    sync_type: str
    status: str
    wall_seconds: float
    requests: Counter[tuple[str, str]]
    items: Counter[tuple[str, str]]
    uploaded: Counter[tuple[str, str]]
    invocations: dict[str, list[float]]
    transitions: int
    log_bytes: int
    metrics: frozenset[str]

    @property
    def gb_seconds(self) -> float:
        return sum(
            sum(times) * MEMORY_MB.get(name, 512) / 1024 for name, times in self.invocations.items()
        )

    def by_service(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for (service, operation), count in self.requests.items():
            if (service, operation) not in OPERATOR_CALLS:
                totals[service] += count
        return totals

    def cost(self) -> dict[str, float]:
        """This run at list prices, per service (what each scheduled run of its kind costs)."""
        calls = self.requests
        count = sum(len(times) for times in self.invocations.values())
        s3_writes = sum(n for (svc, op), n in calls.items() if svc == "s3" and op in S3_WRITES)
        s3_reads = sum(n for (svc, op), n in calls.items() if svc == "s3") - s3_writes
        # request units: a batch is billed per item in it (items up to 1 KB written, 4 KB read)
        units = self.items
        ddb_writes = sum(
            n for (svc, op), n in units.items() if svc == "dynamodb" and op in DYNAMODB_WRITES
        )
        ddb_reads = sum(n for (svc, _), n in units.items() if svc == "dynamodb") - ddb_writes
        secret_reads = calls[("secretsmanager", "GetSecretValue")]
        # On AWS each secret read decrypts with the secrets key: one kms:Decrypt more.
        kms_calls = sum(n for (svc, _), n in calls.items() if svc == "kms") + secret_reads
        return {
            "Lambda": count * PRICES["lambda_request"]
            + self.gb_seconds * PRICES["lambda_gb_second"],
            "Step Functions": self.transitions * PRICES["state_transition"],
            "S3 requests": s3_writes * PRICES["s3_write"] + s3_reads * PRICES["s3_read"],
            "DynamoDB": ddb_writes * PRICES["dynamodb_write_unit"]
            + ddb_reads * PRICES["dynamodb_read_unit"],
            "Secrets Manager calls": secret_reads * PRICES["secrets_call"],
            "KMS calls": kms_calls * PRICES["kms_call"],
            "CloudWatch Logs": self.log_bytes / 1e9 * PRICES["logs_ingested_gb"],
            "SNS": calls[("sns", "Publish")] * PRICES["sns_publish"],
        }

    @property
    def stored_bytes(self) -> int:
        """Run data this run left in S3 (what its PUTs carried)."""
        return sum(n for (svc, op), n in self.uploaded.items() if svc == "s3" and op == "PutObject")


@contextmanager
def stdout_counted() -> Iterator[Path]:
    """Send this process's fd 1 (the handlers' log and metric lines) to a file while open."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.NamedTemporaryFile(delete=False) as sink:
        path = Path(sink.name)
    handle = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.dup2(handle, 1)
    os.close(handle)
    try:
        yield path
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def transitions_of(aws: LocalAws, execution_arn: str) -> int:
    """State transitions Step Functions bills: states entered, per its history."""
    client = aws.client("stepfunctions")
    count, token = 0, None
    while True:
        page = client.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        count += sum(1 for event in page["events"] if event["type"].endswith("StateEntered"))
        token = page.get("nextToken")
        if not token:
            return count


def measured_run(
    aws: LocalAws, census: RequestCensus, deployment: ops.Deployment, client_id: str, kind: str
) -> RunUsage:
    """One sync of `kind`, with everything it asked of AWS counted."""
    census.clear()
    with stdout_counted() as log_file:
        began = time.perf_counter()
        outcome = ops.run_sync(client_id, kind, deployment=deployment)
        wall = time.perf_counter() - began
    log_text = log_file.read_bytes()
    log_file.unlink()
    requests, uploaded, invocations = census.snapshot()
    items = census.item_counts()
    return RunUsage(
        sync_type=kind,
        status=outcome.status,
        wall_seconds=wall,
        requests=requests,
        items=items,
        uploaded=uploaded,
        invocations=invocations,
        transitions=transitions_of(aws, outcome.execution_arn),
        log_bytes=len(log_text),
        metrics=frozenset(metric_identities(log_text)),
    )


def metric_identities(log_text: bytes) -> Iterator[str]:
    """Each custom metric (name and dimension values) the run's EMF lines publish."""
    for line in log_text.splitlines():
        if b'"_aws"' not in line:
            continue
        try:
            document = json.loads(line)
            directives = document["_aws"]["CloudWatchMetrics"]
        except (ValueError, KeyError, TypeError):
            continue
        for directive in directives:
            for dimension_set in directive.get("Dimensions", []):
                values = ",".join(f"{name}={document.get(name)}" for name in dimension_set)
                for metric in directive.get("Metrics", []):
                    yield f"{metric.get('Name')}[{values}]"


def print_usage(runs: list[RunUsage], products: int, latency_ms: int) -> None:
    print(f"\n### One Kong client, {products:,} products, APIs answering after {latency_ms} ms\n")
    services = sorted({service for run in runs for service in run.by_service()})
    print(
        "| run | status | wall | invocations | Lambda GB-s | transitions | log KB | "
        + " | ".join(services)
        + " |"
    )
    print(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | "
        + " | ".join("---:" for _ in services)
        + " |"
    )
    for run in runs:
        totals = run.by_service()
        invocations = sum(len(times) for times in run.invocations.values())
        print(
            f"| {run.sync_type} | {run.status} | {run.wall_seconds:.1f} s | {invocations} "
            f"| {run.gb_seconds:.2f} | {run.transitions} | {run.log_bytes / 1024:.1f} | "
            + " | ".join(str(totals.get(service, 0)) for service in services)
            + " |"
        )
    print("\nRequests by operation:\n")
    for run in runs:
        listed = ", ".join(
            f"{service}:{operation} {count}"
            for (service, operation), count in sorted(run.requests.items())
        )
        print(f"- {run.sync_type}: {listed}")


def monthly_cost(
    runs: list[RunUsage], products: int, changed_percent: float, clients: int
) -> dict[str, float]:
    """A month of one client: syncs every 6 hours, stock every 15 minutes, per service.

    A scheduled incremental run costs what the measured one (nothing changed)
    did, plus, per changed record, what the initial run paid per record over
    that. Stock runs cost what the measured one did. The keys, alarms and the
    dashboard are shared by the deployment's clients.
    """
    by_kind = {run.sync_type: run for run in runs}
    initial, incremental = by_kind["initial"], by_kind["incremental"]
    changed = products * changed_percent / 100
    syncs, stocks = DAYS * 24 // 6, DAYS * 24 * 60 // 15
    total: dict[str, float] = defaultdict(float)
    fixed, per_record = incremental.cost(), initial.cost()
    for service, value in fixed.items():
        marginal = max(0.0, per_record[service] - value) / products
        total[service] += syncs * (value + changed * marginal)
    stock = by_kind.get("stock")
    if stock is not None:
        for service, value in stock.cost().items():
            total[service] += stocks * value
    stored = syncs * (
        incremental.stored_bytes
        + changed * max(0, initial.stored_bytes - incremental.stored_bytes) / products
    ) + (stocks * stock.stored_bytes if stock else 0)
    logged = syncs * incremental.log_bytes + (stocks * stock.log_bytes if stock else 0)
    # run data and logs are kept 30 days: a month's worth is stored at any time
    total["S3 storage (run data, 30 days)"] = stored / 1e9 * PRICES["s3_gb_month"]
    total["CloudWatch Logs"] += logged / 1e9 * PRICES["logs_stored_gb_month"]
    total["Secrets Manager"] = SECRETS_PER_CLIENT * PRICES["secret_month"]
    metrics = frozenset().union(*(run.metrics for run in runs))
    total["CloudWatch metrics"] = len(metrics) * PRICES["metric_month"]
    total[f"KMS keys and alarms (shared by {clients})"] = (
        SHARED_KMS_KEYS * PRICES["kms_key_month"] + SHARED_ALARMS * PRICES["alarm_month"]
    ) / clients
    return dict(total)


def print_cost(month: dict[str, float], products: int, changed_percent: float, stock: bool) -> None:
    print(
        f"\n### A month of one client: {products:,} products, a sync every 6 hours "
        f"({changed_percent:g}% of the catalog changed each time)"
        + (", stock every 15 minutes" if stock else ", no stock syncs (not measured)")
        + "\n"
    )
    print_month(month)


def print_month(month: dict[str, float]) -> None:
    print("| item | USD per month |")
    print("| --- | ---: |")
    for item, value in sorted(month.items(), key=lambda pair: -pair[1]):
        print(f"| {item} | {value:,.2f} |")
    print(f"| **total** | **{sum(month.values()):,.2f}** |")


def supported_sync_types() -> set[str]:
    """The sync types this checkout's runtime accepts."""
    from typing import get_args

    from runtime.config import SyncType

    return set(get_args(SyncType))


def extrapolated(
    measured: dict[int, dict[str, float]], products: int
) -> tuple[tuple[int, int], dict[str, float]]:
    """Each item of the month on the line through the two largest measured sizes, at `products`.

    Linear: what grows with the catalog (pages, their S3 requests, Lambda time,
    the dedup index's units) grows in proportion to it; fixed items (metrics,
    secrets, keys) are equal at both sizes and stay so. An estimate, not a
    measurement: the output says so and from what.
    """
    small, large = sorted(measured)[-2:]
    low, high = measured[small], measured[large]
    slope = {item: (high.get(item, 0.0) - low.get(item, 0.0)) / (large - small) for item in high}
    return (small, large), {
        item: max(0.0, high[item] + slope[item] * (products - large)) for item in high
    }


def measure_size(
    aws: LocalAws,
    census: RequestCensus,
    deployment: ops.Deployment,
    products: int,
    kinds: list[str],
    args: argparse.Namespace,
) -> list[RunUsage]:
    """One Kong client of `products` records, with simulators of its own, through each of `kinds`."""
    client_id = f"usage-kong-{products}"
    siesa_key, product_key = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    runs: list[RunUsage] = []
    with ExitStack() as stack:
        # every stamp in the past, as a real ERP's: records come at most an hour apart,
        # and a day more covers the ERP's offset from UTC (a future stamp would be read
        # again by every incremental run)
        start = datetime.now() - timedelta(hours=products + 24)
        siesa = stack.enter_context(
            sync_bench.siesa_sim(products, args.seed, client_id, siesa_key, start)
        )
        kong = stack.enter_context(sync_bench.sim_process("kong", "--api-key", product_key))
        siesa.post_faults(latency_ms=args.latency_ms)
        kong.post_faults(latency_ms=args.latency_ms)
        config: dict[str, Any] = {
            "client_id": client_id,
            "client_name": "Usage benchmark",
            "product_type": "kong",
            "siesa_api_url": f"{siesa.url}/api/v1",
            "product_api_url": f"{kong.url}/api/v1",
        }
        ops.add_client(
            config,
            {"api_key": siesa_key},
            {"product_type": "kong", "api_url": f"{kong.url}/api/v1", "api_key": product_key},
            deployment=deployment,
        )
        for kind in kinds:
            runs.append(measured_run(aws, census, deployment, client_id, kind))
            # watermarks and ERP stamps are whole seconds: the next run starts in a later one
            time.sleep(1.1)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", default="10000", help="sizes, comma-separated")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--sync-types", default="initial,incremental,stock")
    parser.add_argument("--seed", type=int, default=20250115)
    parser.add_argument("--changed-percent", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=10, help="clients sharing keys and alarms")
    parser.add_argument(
        "--extrapolate-to",
        default="",
        help="sizes to estimate on the line through the two largest measured ones",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.products.split(",") if size.strip()]
    known = supported_sync_types()
    kinds = [kind for kind in args.sync_types.split(",") if kind in known]
    skipped = [kind for kind in args.sync_types.split(",") if kind and kind not in known]

    os.environ["MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"] = str(sync_bench.MOTO_S3_BUFFER_BYTES)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {sync_bench._cpu_model()}, "
        f"Python {platform.python_version()}",
        flush=True,
    )
    if skipped:
        print(f"not run (this runtime has no such sync type): {', '.join(skipped)}")
    census = RequestCensus()
    months: dict[int, dict[str, float]] = {}
    with LocalAws(0, handlers=dict(DEFAULT_HANDLERS), middleware=census.wrap) as aws:
        provision(aws)
        deployment = ops.Deployment(aws.url)
        for products in sizes:
            runs = measure_size(aws, census, deployment, products, kinds, args)
            print_usage(runs, products, args.latency_ms)
            if {"initial", "incremental"} <= {run.sync_type for run in runs}:
                months[products] = monthly_cost(runs, products, args.changed_percent, args.clients)
                stock = any(run.sync_type == "stock" for run in runs)
                print_cost(months[products], products, args.changed_percent, stock)
            sys.stdout.flush()
    for target in (int(size) for size in args.extrapolate_to.split(",") if size.strip()):
        if len(months) < 2:
            print(f"\n{target:,} products: not extrapolated (it needs two measured sizes)")
            continue
        (small, large), month = extrapolated(months, target)
        print(
            f"\n### EXTRAPOLATED, not measured: {target:,} products, on the line through "
            f"the months measured at {small:,} and {large:,}\n"
        )
        print_month(month)


if __name__ == "__main__":
    main()
