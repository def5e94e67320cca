"""Run Lambda invocations of the embedded AWS as calls to our handlers.

Without Docker, moto answers Lambda `Invoke` with
`moto.awslambda_simple.models.LambdaSimpleBackend.invoke`. This module is the
one place that replaces that method (moto 5.2.5 offers no hook for it): while
`dispatching(...)` is active, an invocation of function `name` calls the
handler registered under `name` and answers as Lambda does. An unhandled
exception becomes `{"errorType": <class name>, "errorMessage": <message>}` with
the `x-amz-function-error` header, so Step Functions' Retry and Catch match on
the exception's class name exactly as on AWS. Leaving the context restores moto.

Each invocation has a timeout: the function's configured one (the template's)
unless the dispatcher is given another. An isolated dispatcher runs each
invocation in a child process killed at that timeout (`lambda_sandbox`) and
answers `Sandbox.Timedout` as Lambda does; an in-process one cannot stop a
handler, but still answers `Sandbox.Timedout` for a handler that returned
late, so a run never builds on a result AWS would not have returned.
With its `log` on, the dispatcher records each invocation's function, time,
outcome and (isolated) memory (`invocation_log`).
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

from local.invocation_log import Invocation, InvocationLog, outcome_name
from local.lambda_sandbox import Outcome, answer, error_outcome, run_in_child, timed_out

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
    timeout_seconds: float
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

    def __init__(
        self,
        handlers: Mapping[str, Handler | str] | None = None,
        *,
        isolated: bool = False,
        timeout_seconds: float | None = None,
        log: InvocationLog | None = None,
    ) -> None:
        """`isolated`: each invocation in a child process killed at its timeout;
        `timeout_seconds`: every function's timeout (None: each function's configured one);
        `log`: where invocations are recorded (default: one that is off)."""
        if timeout_seconds is not None and timeout_seconds <= 0:
            raise DispatchError(f"a Lambda timeout must be positive, not {timeout_seconds!r}")
        self._lock = threading.Lock()
        self._targets: dict[str, Handler | str] = dict(
            DEFAULT_HANDLERS if handlers is None else handlers
        )
        self.isolated = isolated
        self.timeout_seconds = timeout_seconds
        self.log = InvocationLog() if log is None else log
        self._before_first_child: Callable[[], None] | None = None

    def before_first_child(self, prepare: Callable[[], None]) -> None:
        """Run `prepare` here once, before the first child is forked (what every child inherits)."""
        with self._lock:
            self._before_first_child = prepare

    def _prepare_children(self) -> None:
        with self._lock:
            prepare, self._before_first_child = self._before_first_child, None
            if prepare is not None:  # under the lock: no child forks before it is done
                prepare()

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
        outcome = self._outcome(backend, function_name, qualifier, body)
        if outcome.failed:
            response_headers[_FUNCTION_ERROR_HEADER] = "Unhandled"
        return outcome.body

    def _outcome(
        self, backend: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any
    ) -> Outcome:
        """Resolve and run the handler, here or in a child, within the function's timeout."""
        try:
            if self.isolated:  # before the clock starts: not the invocation's own time
                self._prepare_children()
            handler = self.handler_for(function_name)  # imported here, so a child inherits it
            context = _context_for(backend, function_name, qualifier, self.timeout_seconds)
            raw = body.decode() if isinstance(body, bytes) else body
            event = json.loads(raw) if raw else {}
        except Exception as exc:  # what Lambda does with an unhandled error
            return error_outcome(type(exc).__name__, str(exc))
        outcome = self._run(handler, event, context)
        self.log.add(
            Invocation(
                function_name=context.function_name,
                seconds=time.monotonic() - context.started_at,
                outcome=outcome_name(outcome.body, outcome.failed),
                memory=outcome.memory,
                mode=str(event["mode"]) if isinstance(event, dict) and event.get("mode") else None,
            )
        )
        return outcome

    def _run(self, handler: Handler, event: Any, context: LocalLambdaContext) -> Outcome:
        """Run the handler in a child killed at the timeout, or here (then judged late after)."""
        if self.isolated:
            return run_in_child(
                handler,
                event,
                context,
                request_id=context.aws_request_id,
                timeout_seconds=context.timeout_seconds,
                started_at=context.started_at,
            )
        outcome = answer(handler, event, context)
        if context.get_remaining_time_in_millis() <= 0:  # AWS would have stopped it: no result
            return timed_out(context.aws_request_id, context.timeout_seconds)
        return outcome


def _context_for(
    backend: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    timeout_seconds: float | None,
) -> LocalLambdaContext:
    """A context carrying the deployed function's ARN, memory and timeout (or the one given)."""
    function = backend.get_function(function_name, qualifier)
    return LocalLambdaContext(
        function_name=function.function_name,
        invoked_function_arn=function.function_arn,
        memory_limit_in_mb=int(function.memory_size),
        timeout_seconds=float(function.timeout) if timeout_seconds is None else timeout_seconds,
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
