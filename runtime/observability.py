"""Structured logs and EMF metrics for the handlers, and the guard that keeps secrets out of both.

Log lines carry the design document's keys (timestamp, level, client_id,
component, message, metadata) plus run_id; everything else Powertools adds
(location, cold start, request id) moves under `metadata`. Every formatted
line passes through `redact`, which replaces each secret value the process
has loaded (see `register_secret`) with `[redacted]`, so a secret that slipped into
a message, an extra or a traceback still never reaches the log.

Metrics go to the `SiesaIntegration` namespace with the dimensions ClientId,
SyncType and Environment.

What belongs to one invocation (the run's log keys, its metrics) lives in
context variables, not in Powertools' process-wide state: on Lambda one
container runs one invocation at a time, but the local engine runs many at
once in one process, and each run's log lines and EMF records must carry
its own client, never another's.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import threading
import uuid
import warnings
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from pydantic import BaseModel, SecretBytes, SecretStr

from runtime import settings
from runtime.remote_text import MAX_ERROR_CHARS, shorten, strip_controls

REDACTED = "[redacted]"
"""What a secret value becomes in logs, run history and error messages."""
MIN_SECRET_LENGTH = 4
"""Shorter values are not scrubbed: they would mangle ordinary text and are no real secret."""

TOP_LEVEL_KEYS = ("timestamp", "level", "client_id", "component", "run_id", "message", "metadata")
ERROR_KEYS = ("exception_name", "exception", "exception_notes", "stack_trace")

_secrets_lock = threading.Lock()
_secret_values: frozenset[str] = frozenset()


def register_secret(*values: str | SecretStr | None) -> None:
    """Remember secret values so `redact` can scrub them from every log line and error text."""
    global _secret_values
    plain = {
        value.get_secret_value() if isinstance(value, SecretStr) else value
        for value in values
        if value is not None
    }
    # the value as stored and without surrounding whitespace (a pasted key's stray newline)
    plain = {form for value in plain for form in (value, value.strip())}
    plain = {value for value in plain if len(value) >= MIN_SECRET_LENGTH}
    if not plain - _secret_values:
        return
    with _secrets_lock:
        _secret_values = _secret_values | plain


def forget_secrets() -> None:
    """Drop every registered value (tests; a container never needs it)."""
    global _secret_values
    with _secrets_lock:
        _secret_values = frozenset()


def _forms(secret: str) -> Iterable[str]:
    """The secret as written plainly and as it appears inside a JSON string (either encoding)."""
    forms = [
        secret,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret, ensure_ascii=True)[1:-1],
    ]
    return dict.fromkeys(forms)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every registered secret value, and each of `secrets`, replaced by `[redacted]`.

    `secrets` are values a caller holds itself (an API client's credentials),
    scrubbed whatever their length; empty ones are ignored.
    """
    values = _secret_values | {secret for secret in secrets if secret}
    for secret in sorted(values, key=len, reverse=True):
        for form in _forms(secret):
            if form in text:
                text = text.replace(form, REDACTED)
    return text


def _redact_value(value: Any) -> Any:
    """`value` with registered secrets scrubbed from every string inside it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


_STANDARD_RECORD_KEYS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def scrub_record(record: logging.LogRecord) -> None:
    """Scrub registered secrets from a record's message, exception, stack and extras, in place."""
    if not _secret_values:
        return
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit the format: keep neither as given
        message = f"{record.msg} (log arguments could not be formatted)"
    record.msg = redact(str(message))
    record.args = None
    for key, value in list(record.__dict__.items()):
        if key not in _STANDARD_RECORD_KEYS and isinstance(value, str | dict | list | tuple):
            record.__dict__[key] = _redact_value(value)
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class SecretScrubFilter(logging.Filter):
    """`scrub_record` as a filter, for a logger whose records carry extras (the runtime's own).

    Extras are attached after a record is made, so the record factory of
    `install_log_scrubber` cannot see them; this filter runs once they are there.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record; never drops one."""
        scrub_record(record)
        return True


def install_log_scrubber() -> None:
    """Scrub every log record of the process at creation, whatever logger or library makes it.

    A filter on the root logger would not do: Python runs a logger's filters
    only for records logged on that logger, not for those its children pass
    up (h11, httpx, tenacity's `runtime.http.retry`, botocore). The record
    factory makes every record, so every handler (Lambda's, a test's capture,
    the CLI's) only ever sees scrubbed text. Installing twice is harmless.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "scrubs_secrets", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        scrub_record(record)
        return record

    make_record.scrubs_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def redact_exception(exc: BaseException) -> None:
    """Scrub registered secrets from the messages of `exc` and the exceptions chained to it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in current.args)
        current = current.__cause__ or current.__context__


def plain_error(exc: BaseException) -> None:
    """Make the message of an error leaving a handler one plain line of at most MAX_ERROR_CHARS.

    The message becomes the workflow's error cause and the SNS alert's text:
    whatever a server's words did to it, no escape, control character or
    unbounded text reaches an operator's mailbox.
    """
    exc.args = tuple(
        shorten(strip_controls(arg), MAX_ERROR_CHARS) if isinstance(arg, str) else arg
        for arg in exc.args
    )


def _json_default(value: Any) -> Any:
    """Serialise what json cannot; secrets render masked, models without their secrets."""
    if isinstance(value, SecretStr | SecretBytes):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


class DesignDocFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter reshaped to the design document's keys, with secrets scrubbed."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        """Move non-design keys under `metadata`, then serialise and redact."""
        shaped: dict[str, Any] = {key: log.get(key) for key in TOP_LEVEL_KEYS}
        metadata = log.get("metadata")
        merged: dict[str, Any] = dict(metadata) if isinstance(metadata, dict) else {}
        if metadata is not None and not isinstance(metadata, dict):
            merged["value"] = metadata
        for key, value in log.items():
            if key in TOP_LEVEL_KEYS or key in ERROR_KEYS or value is None:
                continue
            merged.setdefault(key, value)
        shaped["metadata"] = merged
        for key in ERROR_KEYS:
            if log.get(key) is not None:
                shaped[key] = log[key]
        return redact(super().serialize(shaped))


class _CurrentStdout:
    """Writes to whatever `sys.stdout` is now, so captured or redirected output sees the logs."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _make_logger() -> Logger:
    handler = logging.StreamHandler(_CurrentStdout())
    formatter = DesignDocFormatter(
        json_default=_json_default,
        datefmt="%Y-%m-%dT%H:%M:%S.%FZ",
        utc=True,
        log_record_order=list(TOP_LEVEL_KEYS),
        serialize_stacktrace=False,
    )
    made = Logger(
        service=settings.service_name(),
        level=settings.log_level(),
        logger_handler=handler,
        logger_formatter=formatter,
    )
    made.addFilter(SecretScrubFilter())
    return made


BODY_LOGGING_LOGGERS = ("botocore.endpoint", "botocore.parsers")
"""botocore logs whole request and response bodies at DEBUG: for Secrets Manager, the secrets
themselves, before this process could register them for scrubbing. Held at INFO, whatever
level the root logger is given."""
for _name in BODY_LOGGING_LOGGERS:
    logging.getLogger(_name).setLevel(logging.INFO)
install_log_scrubber()

# A handler that failed before its run was known has no metrics to flush: that is not news.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger: Logger = _make_logger()
"""The one Logger of the runtime: `from runtime.observability import logger`."""

_run_metrics: ContextVar[EphemeralMetrics | None] = ContextVar("run_metrics", default=None)
"""This invocation's run metrics, flushed as one EMF record when its handler returns."""
_cold_start = True


def run_metrics() -> EphemeralMetrics:
    """The current invocation's metrics (made on first use outside a handler, then never flushed)."""
    current = _run_metrics.get()
    if current is None:
        current = EphemeralMetrics(namespace=settings.metrics_namespace(), service="")
        _run_metrics.set(current)
    return current


# --- metrics ----------------------------------------------------------------------


def dimensions(client_id: str, sync_type: str) -> dict[str, str]:
    """The dimensions every metric of a run carries."""
    return {"ClientId": client_id, "SyncType": sync_type, "Environment": settings.environment()}


def bind_run(component: str, client_id: str, sync_type: str, run_id: str | None = None) -> None:
    """Tag this invocation's following log lines and its run metrics with this run."""
    logger.thread_safe_append_keys(component=component, client_id=client_id, run_id=run_id)
    metrics = run_metrics()
    wanted = dimensions(client_id, sync_type)
    current = {name: metrics.dimension_set.get(name) for name in wanted}
    if any(value is not None and value != wanted[name] for name, value in current.items()):
        metrics.clear_metrics()  # another run's unflushed state: never mix two runs' metrics
    for name, value in wanted.items():
        if metrics.dimension_set.get(name) != value:
            metrics.add_dimension(name=name, value=value)


def record_run_outcome(
    *,
    records_processed: int,
    records_failed: int,
    duration_seconds: float,
    status: str,
) -> None:
    """SyncDuration, RecordsProcessed, RecordsFailed, SyncSuccessRate and FailedRecordsShare of a run.

    SyncSuccessRate is 100 for success, 0 for failed, and the share of
    records that reached the product for a partial run. FailedRecordsShare is
    the percentage of the run's records in scope that failed (the alarm on
    failed records watches it; docs/operations.md).
    """
    metrics = run_metrics()
    metrics.add_metric(name="SyncDuration", unit=MetricUnit.Seconds, value=duration_seconds)
    metrics.add_metric(name="RecordsProcessed", unit=MetricUnit.Count, value=records_processed)
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=records_failed)
    metrics.add_metric(
        name="SyncSuccessRate",
        unit=MetricUnit.Percent,
        value=success_rate(status, records_processed, records_failed),
    )
    metrics.add_metric(
        name="FailedRecordsShare",
        unit=MetricUnit.Percent,
        value=failed_share(records_processed, records_failed),
    )


def record_run_failed() -> None:
    """A run that stopped on an error: its success rate is 0."""
    run_metrics().add_metric(name="SyncSuccessRate", unit=MetricUnit.Percent, value=0)


def success_rate(status: str, records_processed: int, records_failed: int) -> float:
    """The SyncSuccessRate value of a run (percent)."""
    if status == "success":
        return 100.0
    if status == "failed" or records_processed <= 0:
        return 0.0
    return round(100.0 * (records_processed - records_failed) / records_processed, 2)


def failed_share(records_processed: int, records_failed: int) -> float:
    """The percentage of a run's records in scope that failed (0 for a run of none)."""
    if records_processed <= 0:
        return 0.0
    return round(100.0 * records_failed / records_processed, 2)


class LatencyRecorder:
    """Collects the latency of every API call of a run; an `on_latency` hook for runtime.http.

    `emit` writes them as APILatency, one EMF record per API (Siesa, Kong,
    WMS, ...) with the run's dimensions plus `Api`.
    """

    def __init__(self) -> None:
        self.values_ms: dict[str, list[float]] = {}

    def __call__(self, call: Any) -> None:
        """Take one `runtime.http.ApiCall` (anything with `.api` and `.seconds`)."""
        self.add(str(call.api), float(call.seconds))

    def add(self, api: str, seconds: float) -> None:
        """Record one call's latency."""
        self.values_ms.setdefault(api, []).append(round(seconds * 1000.0, 3))

    def emit(self, client_id: str, sync_type: str) -> None:
        """Flush APILatency per API (Powertools starts a new EMF record every 100 values)."""
        for api, values in self.values_ms.items():
            emitter = EphemeralMetrics(namespace=settings.metrics_namespace(), service="")
            for dim_name, dim_value in {**dimensions(client_id, sync_type), "Api": api}.items():
                emitter.add_dimension(name=dim_name, value=dim_value)
            for latency in values:
                emitter.add_metric(name="APILatency", unit=MetricUnit.Milliseconds, value=latency)
            if emitter.metric_set:
                emitter.flush_metrics()
        self.values_ms.clear()


# --- the handler wrapper ----------------------------------------------------------


@dataclass(frozen=True)
class LocalContext:
    """Stands in for the Lambda context when the local engine calls a handler with None."""

    function_name: str
    memory_limit_in_mb: int = 0
    invoked_function_arn: str = "local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


Handler = TypeVar("Handler", bound=Callable[[dict[str, Any], Any], dict[str, Any]])


def lambda_entry(component: str) -> Callable[[Handler], Handler]:
    """Wrap a handler: Lambda context in the logs, metrics flushed, secrets scrubbed from errors.

    Works with `context=None` (the local engine), where a LocalContext stands in.
    Log keys and metrics are this invocation's own (context variables), so
    invocations running side by side in one process never mix them.
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
            global _cold_start
            logger.setLevel(settings.log_level())
            if context is None:
                context = LocalContext(function_name=f"siesa-integration-{component}")
            cold_start, _cold_start = _cold_start, False
            logger.thread_safe_clear_keys()  # nothing of a previous invocation carries over
            logger.thread_safe_append_keys(
                component=component,
                cold_start=cold_start,
                **build_lambda_context_model(context).__dict__,
            )
            metrics = EphemeralMetrics(namespace=settings.metrics_namespace(), service="")
            token = _run_metrics.set(metrics)
            try:
                return handler(event, context)
            except Exception as exc:
                redact_exception(exc)
                plain_error(exc)
                action = getattr(exc, "action", "stop")
                logger.error(
                    f"{component} failed: {type(exc).__name__}",
                    exc_info=exc,
                    extra={"metadata": {"error_type": type(exc).__name__, "action": action}},
                )
                raise
            finally:
                try:
                    if metrics.metric_set:
                        metrics.flush_metrics()
                finally:
                    _run_metrics.reset(token)
                    logger.thread_safe_clear_keys()

        return wrapper  # type: ignore[return-value]

    return decorate
