"""Count what the workflow asks of AWS: requests per service and operation, and Lambda time.

AWS bills by request (S3, DynamoDB, Secrets Manager, KMS, SNS, Lambda), by
state transition (Step Functions) and by GB-second (Lambda). The embedded
AWS answers every one of those calls over HTTP, handlers' and the Step
Functions interpreter's alike, so one WSGI wrapper in front of moto sees them
all: `RequestCensus.wrap` counts each request by the service its signature
names and the operation it asks for, and times every Lambda `Invoke` (the
interpreter's call waits for the handler's answer, so its time is the
invocation's). `benchmarks/aws_usage.py` turns the counts into a monthly
cost (docs/cost.md).
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from local.bucket_owner import WsgiApp

_SCOPE = re.compile(r"Credential=[^/]+/[0-9]{8}/[a-z0-9-]+/([a-z0-9-]+)/aws4_request")
_INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
_FORM = "application/x-www-form-urlencoded"
_FORM_BODY_LIMIT = 64 * 1024


def service_of(environ: dict[str, Any]) -> str:
    """The service a SigV4-signed request is for (its credential scope), or "unsigned"."""
    found = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return found.group(1) if found else "unsigned"


def _s3_operation(environ: dict[str, Any]) -> str:
    """S3's REST operations, by method and whether the path names an object."""
    method = str(environ.get("REQUEST_METHOD", "GET"))
    path = str(environ.get("PATH_INFO", "")).lstrip("/")
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    has_key = "/" in path and path.split("/", 1)[1] != ""
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if not has_key:
        if method == "GET":
            return "ListObjectsV2" if "list-type" in query else "ListObjects"
        return f"{method.title()}Bucket"
    return {
        "GET": "GetObject",
        "PUT": "CopyObject" if environ.get("HTTP_X_AMZ_COPY_SOURCE") else "PutObject",
        "HEAD": "HeadObject",
        "DELETE": "DeleteObject",
    }.get(method, f"{method.title()}Object")


def operation_of(environ: dict[str, Any], service: str) -> str:
    """The operation a request asks for: X-Amz-Target, a form's Action, or the REST route."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    if service == "s3":
        return _s3_operation(environ)
    if service == "lambda":
        path = str(environ.get("PATH_INFO", ""))
        return "Invoke" if _INVOKE.match(path) else "LambdaControl"
    action = parse_qs(str(environ.get("QUERY_STRING", ""))).get("Action")
    if action:
        return action[0]
    return _form_action(environ) or str(environ.get("REQUEST_METHOD", "GET"))


def _form_action(environ: dict[str, Any]) -> str | None:
    """A query-protocol request's Action from its form body; the body is put back for moto."""
    if not str(environ.get("CONTENT_TYPE", "")).startswith(_FORM):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length <= 0 or length > _FORM_BODY_LIMIT:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return action[0] if action else None


_BATCHES = {"BatchWriteItem", "BatchGetItem"}


def batch_items(environ: dict[str, Any]) -> int:
    """How many items a DynamoDB batch request names; the body is put back for moto."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 1
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        requested = json.loads(body or b"{}").get("RequestItems", {})
    except ValueError:
        return 1
    total = 0
    for request in requested.values():
        total += len(request) if isinstance(request, list) else len(request.get("Keys", []))
    return max(total, 1)


@dataclass
class RequestCensus:
    """Requests and the bytes they carried per (service, operation); Lambda seconds per function."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    uploaded_bytes: Counter[tuple[str, str]] = field(default_factory=Counter)
    items: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Items a DynamoDB request read or wrote (a batch of 25 writes is billed as 25)."""
    invocations: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wrap(self, app: WsgiApp) -> WsgiApp:
        """`app` with every request counted (and every Invoke timed) before it answers."""

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            service = service_of(environ)
            operation = operation_of(environ, service)
            items = batch_items(environ) if operation in _BATCHES else 1
            invoked = _INVOKE.match(str(environ.get("PATH_INFO", "")))
            began = time.perf_counter()
            answer = list(app(environ, start_response))
            elapsed = time.perf_counter() - began
            try:
                sent = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                sent = 0
            with self._lock:
                self.requests[(service, operation)] += 1
                self.uploaded_bytes[(service, operation)] += sent
                self.items[(service, operation)] += items
                if service == "lambda" and invoked:
                    name = invoked.group(1).split(":function:")[-1].split(":")[0]
                    self.invocations.setdefault(name, []).append(elapsed)
            return answer

        return counted

    def snapshot(
        self,
    ) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]], dict[str, list[float]]]:
        """A copy of the counts so far: requests, bytes sent in them, Lambda invocation times."""
        with self._lock:
            return (
                Counter(self.requests),
                Counter(self.uploaded_bytes),
                {name: list(times) for name, times in self.invocations.items()},
            )

    def item_counts(self) -> Counter[tuple[str, str]]:
        """A copy of the items per (service, operation) so far (1 per request outside batches)."""
        with self._lock:
            return Counter(self.items)

    def clear(self) -> None:
        """Start counting afresh (between the runs a benchmark compares)."""
        with self._lock:
            self.requests.clear()
            self.uploaded_bytes.clear()
            self.items.clear()
            self.invocations.clear()
