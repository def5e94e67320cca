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

A child still running just before its timeout writes the stack of each of
its threads to stderr (`faulthandler`), so an invocation that hangs locally
says where; then it is killed.

Each outcome carries what the child grew to (`child_memory`): the child
reads its RSS when it starts and its peak just before it answers; for a
child killed at its timeout the parent reads the peak before the kill.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import logging
import multiprocessing
import os
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from local.child_memory import ChildMemory, own_peak, own_rss, peak_of

TIMED_OUT = "Sandbox.Timedout"
EXITED = "Runtime.ExitError"

_FORK = multiprocessing.get_context("fork")
_ANSWER, _ERROR = b"A", b"E"
_EXIT_GRACE_SECONDS = 1.0
_STACKS_LEAD_SECONDS = 1.0
"""A child still running this long before its timeout writes every thread's stack to stderr
(faulthandler: no Python lock taken, so a child stuck on one still tells where)."""
_MEMORY = struct.Struct("!QQ")  # the child's RSS at fork and its peak, before the tag and body


@dataclass(frozen=True)
class Outcome:
    """What an invocation answered: the response body, and whether Lambda marks it an error."""

    body: bytes
    failed: bool
    memory: ChildMemory | None = None
    """What the child grew to (None: run in this process, or the child died unmeasured)."""


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
    handler: Callable[[Any, Any], Any],
    event: Any,
    context: Any,
    writer: Connection,
    deadline: float,
) -> None:
    """In the child: lead a process group, run, send its memory and the outcome."""
    at_fork = own_rss()
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    with contextlib.suppress(Exception):  # one still running just before its kill says where
        lead = min(_STACKS_LEAD_SECONDS, (deadline - time.monotonic()) / 10)
        faulthandler.dump_traceback_later(max(0.01, deadline - time.monotonic() - lead), file=2)
    outcome = answer(handler, event, context)
    faulthandler.cancel_dump_traceback_later()
    with contextlib.suppress(Exception):
        logging.shutdown()  # every logging handler flushes (the engine's log sink sends its lines)
    for stream in (sys.stdout, sys.stderr):  # the handler's logs, before the child may be killed
        with contextlib.suppress(Exception):
            stream.flush()
    memory = _MEMORY.pack(at_fork, own_peak())
    writer.send_bytes(memory + (_ERROR if outcome.failed else _ANSWER) + outcome.body)
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
    deadline = started_at + timeout_seconds
    process = _FORK.Process(
        target=_child, args=(handler, event, context, writer, deadline), daemon=True
    )
    try:
        at_fork = own_rss()  # what a child killed before answering was forked with, about
        process.start()
        writer.close()
        remaining = max(0.0, deadline - time.monotonic())
        if not reader.poll(remaining):
            late = timed_out(request_id, timeout_seconds)
            peak = peak_of(process.pid) if process.pid is not None else None
            memory = None if peak is None else ChildMemory(at_fork, peak)
            return Outcome(late.body, late.failed, memory)
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
        return _answered(message)
    finally:
        _kill(process)
        reader.close()


def _answered(message: bytes) -> Outcome:
    """The child's message: its memory, then the tag and the body."""
    at_fork, peak = _MEMORY.unpack_from(message)
    tag, body = message[_MEMORY.size : _MEMORY.size + 1], message[_MEMORY.size + 1 :]
    return Outcome(body, tag == _ERROR, ChildMemory(at_fork, peak))


def _kill(process: multiprocessing.process.BaseProcess) -> None:
    """Stop the child's whole process group (if it is still there) and reap the child."""
    pid = process.pid
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    if process.is_alive():
        process.kill()
    process.join()
