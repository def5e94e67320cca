"""The local engine's log sink: handler log lines into the embedded AWS's CloudWatch Logs.

On AWS, Lambda sends each function's stdout to `/aws/lambda/{function}`, and
`siesa run logs RUN_ID` reads a run's lines there. Locally the handlers run
in the engine's process (moto has no Lambda log capture), so their lines
would only reach the terminal of `siesa local up`. While the embedded AWS
runs, this sink copies every line of the runtime's logger, formatted as
on Lambda (the design document's keys with client_id and run_id, secrets
scrubbed), into the same log group of the embedded AWS, so `siesa run logs`
reads the local engine exactly as it reads AWS. The lines still go to stdout.

It writes into moto's logs backend directly (no HTTP round trip per line);
the group is made when missing and each process writes its own stream.
A handler that runs in a child forked from the engine (local/lambda_sandbox.py)
holds only a copy of that backend: there the sink keeps its lines and sends
them over the engine's endpoint when the child flushes its logging, before it
answers, one request per log group.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

from moto.logs.models import logs_backends

from ops.runs import COMPONENTS, log_group
from runtime.aws import new_session
from runtime.observability import logger as runtime_logger


class LogGroupSink(logging.Handler):
    """Copies the runtime logger's lines into the embedded AWS's function log groups."""

    def __init__(self, account_id: str, region: str) -> None:
        super().__init__()
        self.account_id = account_id
        self.region = region
        self.stream = f"local/{datetime.now(UTC):%Y/%m/%d}/{os.getpid()}"
        self._owner_pid = os.getpid()
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._write_lock = threading.Lock()
        formatter = runtime_logger.registered_formatter
        if formatter is not None:
            self.setFormatter(formatter)

    def _backend(self) -> Any:
        return logs_backends[self.account_id][self.region]

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record as its formatted line; a line of no run stage is skipped."""
        try:
            self.write_line(self.format(record), int(record.created * 1000))
        except Exception:
            self.handleError(record)

    def write_line(self, line: str, timestamp_ms: int | None = None) -> bool:
        """Put one structured line in its component's log group; False when it names none."""
        try:
            component = json.loads(line).get("component")
        except (ValueError, AttributeError):
            return False
        if component not in COMPONENTS:
            return False
        group = log_group(str(component))
        event = {"timestamp": timestamp_ms or int(time.time() * 1000), "message": line}
        if os.getpid() != self._owner_pid:  # a forked child: the backend here is a copy
            with self._write_lock:
                self._pending.setdefault(group, []).append(event)
            return True
        with self._write_lock:
            backend = self._backend()  # looked up each time: a reset of the engine drops groups
            if group not in backend.groups:
                backend.create_log_group(group, {})
            backend.ensure_log_stream(group, self.stream)
            backend.put_log_events(group, self.stream, [event])
        return True

    def flush(self) -> None:
        """In a forked child, send the kept lines to the engine over its endpoint."""
        with self._write_lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        logs = new_session().client(
            "logs", region_name=self.region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL")
        )
        stream = f"local/{datetime.now(UTC):%Y/%m/%d}/{os.getpid()}"
        exists = logs.exceptions.ResourceAlreadyExistsException
        for group, events in pending.items():
            with contextlib.suppress(exists):
                logs.create_log_group(logGroupName=group)
            with contextlib.suppress(exists):
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def _runtime_logging() -> logging.Logger:
    """The stdlib logger behind the runtime's Powertools logger (named by its service)."""
    return logging.getLogger(runtime_logger.service)


def install_log_sink(account_id: str, region: str) -> LogGroupSink:
    """Attach a sink to the runtime's logger; `remove_log_sink` takes it away."""
    sink = LogGroupSink(account_id, region)
    _runtime_logging().addHandler(sink)
    return sink


def remove_log_sink(sink: LogGroupSink | None) -> None:
    """Detach a sink `install_log_sink` attached (no-op for None)."""
    if sink is not None:
        _runtime_logging().removeHandler(sink)
