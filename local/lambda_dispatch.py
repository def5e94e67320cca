"""Run Lambda invocations of the embedded AWS as calls to our handlers in this process.

Without Docker, moto answers Lambda `Invoke` with
`moto.awslambda_simple.models.LambdaSimpleBackend.invoke`. This module is the
one place that replaces that method (moto 5.2.5 offers no hook for it): while
`dispatching(...)` is active, an invocation of function `name` calls the
handler registered under `name` and answers as Lambda does. An unhandled
exception becomes `{"errorType": <class name>, "errorMessage": <message>}` with
the `x-amz-function-error` header, so Step Functions' Retry and Catch match on
the exception's class name exactly as on AWS. Leaving the context restores moto.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

Handler = Callable[[Any, Any], Any]

# Function name -> "module:attribute" of the handler Lambda runs (the template's Handler).
DEFAULT_HANDLERS: dict[str, str] = {
    "siesa-integration-extractor": "runtime.handlers.extractor:lambda_handler",
    "siesa-integration-transformer": "runtime.handlers.transformer:lambda_handler",
    "siesa-integration-loader": "runtime.handlers.loader:lambda_handler",
}

_FUNCTION_ERROR_HEADER = "x-amz-function-error"


class DispatchError(Exception):
    """An invocation names no registered handler, or the handler cannot be imported."""


@dataclass(frozen=True)
class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started_at: float = field(default_factory=time.monotonic)
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None

    @property
    def log_group_name(self) -> str:
        """Where Lambda would write this function's logs."""
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        """A stream name unique to this invocation."""
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's configured timeout."""
        elapsed = time.monotonic() - self.started_at
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def _resolve(target: Handler | str) -> Handler:
    """A handler, importing "module:attribute" targets on first use."""
    if not isinstance(target, str):
        return target
    module_name, _, attribute = target.partition(":")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise DispatchError(f"cannot import handler {target}: {exc}") from exc
    if not callable(handler):
        raise DispatchError(f"handler {target} is not callable")
    return handler


class LambdaDispatcher:
    """Function name -> handler, and the `invoke` that moto's Lambda backend calls."""

    def __init__(self, handlers: Mapping[str, Handler | str] | None = None) -> None:
        self._lock = threading.Lock()
        self._targets: dict[str, Handler | str] = dict(
            DEFAULT_HANDLERS if handlers is None else handlers
        )

    def register(self, function_name: str, handler: Handler | str) -> None:
        """Route invocations of `function_name` to `handler` (a callable or "module:attribute")."""
        with self._lock:
            self._targets[function_name] = handler

    def handler_for(self, function_name: str) -> Handler:
        """The handler registered for a function name or ARN (qualifiers ignored)."""
        name = function_name.split(":function:")[-1].split(":")[0]
        with self._lock:
            target = self._targets.get(name)
        if target is None:
            raise DispatchError(f"no handler registered for Lambda function {name!r}")
        handler = _resolve(target)
        if isinstance(target, str):
            with self._lock:
                self._targets[name] = handler
        return handler

    def invoke(
        self,
        backend: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        """Run the handler on the JSON body; answer its JSON result or Lambda's error shape."""
        try:
            handler = self.handler_for(function_name)
            context = _context_for(backend, function_name, qualifier)
            raw = body.decode() if isinstance(body, bytes) else body
            event = json.loads(raw) if raw else {}
            return json.dumps(handler(event, context)).encode()
        except Exception as exc:  # what Lambda does with an unhandled error
            response_headers[_FUNCTION_ERROR_HEADER] = "Unhandled"
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            return json.dumps(error).encode()


def _context_for(
    backend: LambdaSimpleBackend, function_name: str, qualifier: str | None
) -> LocalLambdaContext:
    """A context carrying the deployed function's ARN, memory and timeout."""
    function = backend.get_function(function_name, qualifier)
    return LocalLambdaContext(
        function_name=function.function_name,
        invoked_function_arn=function.function_arn,
        memory_limit_in_mb=int(function.memory_size),
        timeout_seconds=int(function.timeout),
    )


_active_lock = threading.Lock()
_active: list[LambdaDispatcher] = []


@contextmanager
def dispatching(dispatcher: LambdaDispatcher) -> Iterator[LambdaDispatcher]:
    """Route moto's Docker-less Lambda invocations to `dispatcher` until the block ends.

    Nested use is refused: one process hosts one embedded AWS at a time.
    """
    with _active_lock:
        if _active:
            raise DispatchError("Lambda invocations are already dispatched in this process")
        _active.append(dispatcher)
        original = LambdaSimpleBackend.invoke

        def invoke(
            self: LambdaSimpleBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> bytes:
            return dispatcher.invoke(self, function_name, qualifier, body, response_headers)

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    try:
        yield dispatcher
    finally:
        with _active_lock:
            LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]
            _active.clear()
