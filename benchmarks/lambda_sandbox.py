"""Per-invocation cost of the local engine's Lambda modes: in-process vs a forked child.

    .venv/bin/python benchmarks/lambda_sandbox.py [--repeat 40]

On a running embedded AWS (moto and the three real handler modules imported,
as in a test run), invokes one function through `lambda_client.invoke`, so the
figure includes moto's HTTP round trip, with two handlers: one that returns at
once (the fork's own cost) and one that makes one S3 call through the runtime's
client cache (in a child the cache starts empty, so this adds a client's
creation, as a cold Lambda pays). Prints the median and 90th percentile of each
handler in each mode.
"""

from __future__ import annotations

import argparse
import importlib
import io
import statistics
import time
import zipfile
from collections.abc import Callable
from typing import Any

from local.embedded_aws import LocalAws
from local.lambda_dispatch import DEFAULT_HANDLERS
from runtime import aws as aws_clients

FUNCTION = "siesa-integration-bench"


def _noop(event: Any, context: Any) -> Any:
    return {"ok": True}


def _one_s3_call(event: Any, context: Any) -> Any:
    return {"buckets": len(aws_clients.client("s3").list_buckets()["Buckets"])}


def _measure(isolated: bool, handler: Callable[[Any, Any], Any], repeat: int) -> list[float]:
    with LocalAws(isolated=isolated, handlers={FUNCTION: handler}) as aws:
        role = aws.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("handler.py", "")
        functions = aws.client("lambda")
        functions.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.11",
            Role=role["Role"]["Arn"],
            Handler="handler.lambda_handler",
            Code={"ZipFile": buffer.getvalue()},
        )
        aws_clients.reset_clients()
        times = []
        for _ in range(repeat + 2):
            began = time.perf_counter()
            functions.invoke(FunctionName=FUNCTION, Payload=b"{}")["Payload"].read()
            times.append(time.perf_counter() - began)
        return times[2:]  # the first two warm moto and the caches up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    for target in DEFAULT_HANDLERS.values():  # what a test run has imported
        importlib.import_module(target.partition(":")[0])
    for name, handler in (("return at once", _noop), ("one S3 call", _one_s3_call)):
        for isolated in (False, True):
            times = sorted(_measure(isolated, handler, args.repeat))
            median = statistics.median(times) * 1000
            p90 = times[int(len(times) * 0.9) - 1] * 1000
            mode = "child process" if isolated else "in-process   "
            print(f"{name:15} {mode}  median {median:6.1f} ms   p90 {p90:6.1f} ms")


if __name__ == "__main__":
    main()
