"""Run one Lambda invocation in a child process that is killed when its time is up.

On AWS a function that runs past its configured timeout is stopped, whatever
it is doing, and `Invoke` answers `x-amz-function-error: Unhandled` with
`{"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: ... Error: Task
timed out after N.NN seconds"}`; Step Functions names the Task's error after
`errorType`, so a Catch or Retry on `Sandbox.Timedout`, `States.TaskFailed` or
`States.ALL` matches it, and one on `States.Timeout` (the state's own
`TimeoutSeconds`) does not.

The child is forked (multiprocessing's "fork") from the embedded AWS's
process: the handler modules are imported there already, so an invocation
costs a fork, not an interpreter start and the handlers' imports; a handler
registered as a closure travels with the fork, as do the process environment
(endpoint, table names) and botocore hooks. Each child leads its own process
group, so whatever it started dies with it. It starts without the parent's
cached AWS clients (runtime/aws.py forgets them in a forked child): their
pooled sockets belong to the parent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

TIMED_OUT = "Sandbox.Timedout"
EXITED = "Runtime.ExitError"

_FORK = multiprocessing.get_context("fork")
_ANSWER, _ERROR = b"A", b"E"
_EXIT_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class Outcome:
    """What an invocation answered: the response body, and whether Lambda marks it an error."""

    body: bytes
    failed: bool


def error_outcome(error_type: str, message: str) -> Outcome:
    """Lambda's body for an unhandled error."""
    return Outcome(json.dumps({"errorType": error_type, "errorMessage": message}).encode(), True)


def timed_out(request_id: str, timeout_seconds: float) -> Outcome:
    """What Lambda answers for an invocation stopped at its timeout."""
    return error_outcome(
        TIMED_OUT,
        f"RequestId: {request_id} Error: Task timed out after {timeout_seconds:.2f} seconds",
    )


def answer(handler: Callable[[Any, Any], Any], event: Any, context: Any) -> Outcome:
    """Run the handler here; its JSON result, or Lambda's shape of the exception it raised."""
    try:
        return Outcome(json.dumps(handler(event, context)).encode(), False)
    except Exception as exc:  # what Lambda does with an unhandled error
        return error_outcome(type(exc).__name__, str(exc))


def _child(
    handler: Callable[[Any, Any], Any], event: Any, context: Any, writer: Connection
) -> None:
    """In the child: lead a process group, run, send the outcome."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    outcome = answer(handler, event, context)
    with contextlib.suppress(Exception):
        logging.shutdown()  # every logging handler flushes (the engine's log sink sends its lines)
    for stream in (sys.stdout, sys.stderr):  # the handler's logs, before the child may be killed
        with contextlib.suppress(Exception):
            stream.flush()
    writer.send_bytes((_ERROR if outcome.failed else _ANSWER) + outcome.body)
    writer.close()


def run_in_child(
    handler: Callable[[Any, Any], Any],
    event: Any,
    context: Any,
    *,
    request_id: str,
    timeout_seconds: float,
    started_at: float,
) -> Outcome:
    """Run the handler in a forked child; kill it (and its group) at `started_at + timeout_seconds`."""
    reader, writer = _FORK.Pipe(duplex=False)
    process = _FORK.Process(target=_child, args=(handler, event, context, writer), daemon=True)
    try:
        process.start()
        writer.close()
        remaining = max(0.0, started_at + timeout_seconds - time.monotonic())
        if not reader.poll(remaining):
            return timed_out(request_id, timeout_seconds)
        try:
            message = reader.recv_bytes()
        except EOFError:  # the child died without answering (os._exit, a signal)
            process.join(timeout=1)
            return error_outcome(
                EXITED,
                f"RequestId: {request_id} Error: Runtime exited with error: "
                f"exit status {process.exitcode}",
            )
        process.join(timeout=_EXIT_GRACE_SECONDS)  # it answered: let it exit on its own
        return Outcome(message[1:], message[:1] == _ERROR)
    finally:
        _kill(process)
        reader.close()


def _kill(process: multiprocessing.process.BaseProcess) -> None:
    """Stop the child's whole process group (if it is still there) and reap the child."""
    pid = process.pid
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    if process.is_alive():
        process.kill()
    process.join()
