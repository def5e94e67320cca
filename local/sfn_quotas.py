"""Step Functions' quotas that moto 5.2.5's interpreter does not hold, held as AWS holds them.

- A payload over 256 KB: moto already fails a state whose output, or a Lambda
  task whose result, is over 256 KB with `States.DataLimitExceeded`, but its
  `States.ALL` catches and retries that error. On AWS it is terminal: "This is
  a terminal error that can't be caught by the States.ALL error type"
  (Step Functions developer guide, error handling). While `enforcing()` is
  active, `States.ALL` in a Catch or Retry does not match it, and a Lambda
  task's input after `Parameters` over 256 KB fails the same way.
- 25,000 history events: AWS fails an execution whose history reaches the
  quota unless event 25,000 is `ExecutionSucceeded`; the ExecutionFailed
  event is then the last one ("The execution reached the maximum number of
  history events (25000)."). moto has no such limit. While `enforcing()` is
  active, an execution that would log a 25,000th event other than how it ends
  fails with `States.Runtime` (which no Catch takes: every event a Catch
  would log fails the same way) and that cause. The limit can be lowered for
  a test. A distributed Map's iterations keep their own histories, as child
  executions do on AWS.

This module is the one place that changes moto's interpreter; leaving the
context restores it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.stepfunctions.parser.api import (
    ExecutionFailedEventDetails,
    HistoryEventType,
    TaskFailedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import (
    ErrorEqualsDecl,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import (
    StateTaskLambda,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.quotas import is_within_size_quota

HISTORY_EVENT_LIMIT = 25_000
DATA_LIMIT_EXCEEDED = StatesErrorNameType.StatesStatesDataLimitExceeded
_STATES_ALL = StatesErrorName(typ=StatesErrorNameType.StatesALL)
# how an execution ends: these events are logged even at the limit
_ENDINGS = frozenset(
    {
        HistoryEventType.ExecutionSucceeded,
        HistoryEventType.ExecutionFailed,
        HistoryEventType.ExecutionAborted,
        HistoryEventType.ExecutionTimedOut,
    }
)


def history_limit_cause(limit: int) -> str:
    """The cause AWS gives an execution that reached the history quota."""
    return f"The execution reached the maximum number of history events ({limit})."


class HistoryLimitReached(FailureEventException):
    """Raised instead of logging an event past the history quota; fails the execution."""

    def __init__(self, limit: int) -> None:
        super().__init__(_Failure(history_limit_cause(limit)))
        self.limit = limit

    def get_execution_failed_event_details(self) -> ExecutionFailedEventDetails:
        """AWS's error and cause, without moto's "while executing the state" preamble."""
        return ExecutionFailedEventDetails(
            error=StatesErrorNameType.StatesRuntime.to_name(),
            cause=history_limit_cause(self.limit),
        )


class _Failure(FailureEvent):
    """A failure event that belongs to no state (FailureEvent's constructor wants one)."""

    def __init__(self, cause: str) -> None:
        self.state_name = ""  # type: ignore[misc]
        self.source_event_id = 0  # type: ignore[misc]
        self.error_name = StatesErrorName(typ=StatesErrorNameType.StatesRuntime)  # type: ignore[misc]
        # not an ending event: a state that tries to log it fails again, so no Catch takes it
        self.event_type = HistoryEventType.TaskFailed  # type: ignore[misc]
        details: Any = {
            "taskFailedEventDetails": TaskFailedEventDetails(
                error=StatesErrorNameType.StatesRuntime.to_name(), cause=cause
            )
        }
        self.event_details = details  # type: ignore[misc]


_settings_lock = threading.Lock()
_history_limit: list[int] = []


@contextmanager
def enforcing(history_limit: int = HISTORY_EVENT_LIMIT) -> Iterator[None]:
    """Hold the payload and history quotas in moto's interpreter until the block ends."""
    if history_limit < 2:
        raise ValueError(f"a history limit must be at least 2, not {history_limit}")
    with _settings_lock:
        if _history_limit:
            raise RuntimeError("Step Functions quotas are already enforced in this process")
        _history_limit.append(history_limit)
        originals = (
            ErrorEqualsDecl._eval_body,
            EventManager.add_event,
            StateTaskLambda._eval_parameters,
        )
        ErrorEqualsDecl._eval_body = _error_equals(originals[0])  # type: ignore[method-assign]
        EventManager.add_event = _add_event(originals[1], history_limit)  # type: ignore[method-assign]
        StateTaskLambda._eval_parameters = _lambda_parameters(originals[2])  # type: ignore[method-assign]
    try:
        yield
    finally:
        with _settings_lock:
            (
                ErrorEqualsDecl._eval_body,  # type: ignore[method-assign]
                EventManager.add_event,  # type: ignore[method-assign]
                StateTaskLambda._eval_parameters,  # type: ignore[method-assign]
            ) = originals
            _history_limit.clear()


def _error_equals(original: Any) -> Any:
    """States.ALL does not match States.DataLimitExceeded; everything else as moto does."""

    def eval_body(self: ErrorEqualsDecl, env: Environment) -> None:
        error_name = env.stack[-1]
        if (
            isinstance(error_name, StatesErrorName)
            and error_name.typ == DATA_LIMIT_EXCEEDED
            and _STATES_ALL in self.error_names
        ):
            env.stack.pop()
            env.stack.append(False)
            return
        original(self, env)

    return eval_body


def _add_event(original: Any, limit: int) -> Any:
    """Refuse an event that would fill the history with anything but how the execution ends."""

    def add_event(self: EventManager, *args: Any, **kwargs: Any) -> int:
        event_type = kwargs.get("event_type", args[1] if len(args) > 1 else None)
        if event_type not in _ENDINGS and len(self._history_event_list) >= limit - 1:
            raise HistoryLimitReached(limit)
        result: int = original(self, *args, **kwargs)
        return result

    return add_event


def _lambda_parameters(original: Any) -> Any:
    """A Lambda task's input after Parameters over the quota fails as AWS fails it."""

    def eval_parameters(self: StateTaskLambda, env: Environment) -> dict[str, Any]:
        parameters: dict[str, Any] = original(self, env)
        if not is_within_size_quota(parameters.get("Payload")):
            details: Any = {
                "taskFailedEventDetails": TaskFailedEventDetails(
                    error=DATA_LIMIT_EXCEEDED.to_name(),
                    cause=(
                        f"The state/task '{self.name}' has an input after Parameters "
                        "with a size exceeding the maximum number of bytes service limit."
                    ),
                )
            }
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=DATA_LIMIT_EXCEEDED),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=details,
                )
            )
        return parameters

    return eval_parameters
