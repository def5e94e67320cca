"""The local engine holds Lambda's timeout and Step Functions' quotas as AWS does.

Unit tests of the child-process runner, then one embedded AWS (isolated
invocations, a 1.5 s Lambda timeout, a history quota of 50 events) running tiny
state machines: a handler past its timeout is killed and answers
`Sandbox.Timedout`, which the workflow's Catch sees; a result over 256 KB fails
the execution with `States.DataLimitExceeded` that `States.ALL` does not catch;
an execution that reaches the history quota fails as AWS fails it. Each
child reports the memory it grew to, and the engine records each invocation.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from local.embedded_aws import LocalAws
from local.invocation_log import SUCCEEDED
from local.lambda_dispatch import LambdaDispatcher, LocalLambdaContext
from local.lambda_sandbox import EXITED, TIMED_OUT, run_in_child
from local.sfn_quotas import history_limit_cause
from runtime import aws as aws_clients

TIMEOUT = 1.5
HISTORY_LIMIT = 50
FUNCTION = "siesa-integration-extractor"
MB = 2**20


def _gone(pid: int) -> bool:
    """True when the process is no more: reaped, or dead and waiting for init to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _context(timeout: float) -> LocalLambdaContext:
    return LocalLambdaContext(FUNCTION, f"arn:aws:lambda:::function:{FUNCTION}", 512, timeout)


def _sleeper(pids: Path) -> Any:
    """A handler that starts a grandchild, records both pids, and outstays any timeout."""

    def handler(event: Any, context: Any) -> Any:
        grandchild = subprocess.Popen(["sleep", "30"])
        pids.write_text(f"{os.getpid()} {grandchild.pid}")
        time.sleep(30)
        return {"late": True}

    return handler


# --- the runner ------------------------------------------------------------------------------


def test_a_child_past_its_timeout_is_killed_with_what_it_started(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pids = tmp_path / "pids"
    context = _context(1.0)
    began = time.monotonic()
    outcome = run_in_child(
        _sleeper(pids),
        {},
        context,
        request_id=context.aws_request_id,
        timeout_seconds=1.0,
        started_at=context.started_at,
    )
    assert time.monotonic() - began < 3
    assert outcome.failed
    assert json.loads(outcome.body) == {
        "errorType": TIMED_OUT,
        "errorMessage": f"RequestId: {context.aws_request_id} Error: Task timed out after 1.00 seconds",
    }
    child, grandchild = (int(pid) for pid in pids.read_text().split())
    assert child != os.getpid()
    assert _gone(child) and _gone(grandchild)
    stacks = capfd.readouterr().err  # where it was, written just before the kill
    assert "Timeout (0:00:00" in stacks
    assert re.search(r'File ".*test_lambda_sandbox.py", line \d+ in handler', stacks)


def test_a_child_answers_its_result_and_one_that_dies_answers_an_exit_error() -> None:
    seen = {"parent": os.getpid()}  # a closure: the fork carries it
    parents_client = aws_clients.client("s3", region="us-east-1")

    def handler(event: Any, context: Any) -> Any:
        return {
            "pid": os.getpid(),
            "parent": seen["parent"],
            "left_ms": context.get_remaining_time_in_millis(),
            # the parent's cached client (and its pooled sockets) is not the child's
            "own_client": aws_clients.client("s3", region="us-east-1") is not parents_client,
        }

    context = _context(5.0)
    kwargs: Any = {"request_id": "r-1", "timeout_seconds": 5.0, "started_at": context.started_at}
    outcome = run_in_child(handler, {}, context, **kwargs)
    body = json.loads(outcome.body)
    assert not outcome.failed
    assert body["parent"] == os.getpid() != body["pid"] and 0 < body["left_ms"] <= 5000
    assert body["own_client"] is True
    assert _gone(body["pid"])

    died = run_in_child(lambda event, context: os._exit(3), {}, context, **kwargs)
    assert died.failed
    assert json.loads(died.body) == {
        "errorType": EXITED,
        "errorMessage": "RequestId: r-1 Error: Runtime exited with error: exit status 3",
    }


def test_a_childs_memory_is_what_it_grew_to_not_what_it_was_forked_with() -> None:
    held = b"p" * (64 * MB)  # the parent's pages: every child is forked with them resident

    def allocating(event: Any, context: Any) -> Any:
        block = b"c" * (32 * MB)
        return {"held": len(held), "block": len(block)}

    context = _context(5.0)
    kwargs: Any = {"request_id": "r-2", "timeout_seconds": 5.0, "started_at": context.started_at}
    idle = run_in_child(lambda event, context: {"held": len(held)}, {}, context, **kwargs).memory
    grown = run_in_child(allocating, {}, context, **kwargs).memory
    assert idle is not None and grown is not None
    assert idle.at_fork >= 64 * MB and grown.at_fork >= 64 * MB
    assert idle.grown < 16 * MB
    # memory the parent's allocator held free at fork is reused without growing: a little slack
    assert 24 * MB <= grown.grown < 48 * MB


def test_in_process_a_late_answer_is_reported_timed_out_not_returned() -> None:
    backend: Any = SimpleNamespace(
        get_function=lambda name, qualifier: SimpleNamespace(
            function_name=FUNCTION, function_arn=f"arn:{FUNCTION}", memory_size=128, timeout=900
        )
    )
    late = LambdaDispatcher({FUNCTION: lambda event, context: time.sleep(0.3)}, timeout_seconds=0.2)
    headers: dict[str, str] = {}
    body = json.loads(late.invoke(backend, FUNCTION, None, b"{}", headers))
    assert headers == {"x-amz-function-error": "Unhandled"}
    assert body["errorType"] == TIMED_OUT
    assert body["errorMessage"].endswith("Task timed out after 0.20 seconds")


# --- on the embedded AWS ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(
        isolated=True,
        lambda_timeout=TIMEOUT,
        history_limit=HISTORY_LIMIT,
        record_invocations=True,
    ) as running:
        yield running


def _function(aws: LocalAws, handler: Any) -> str:
    """A Lambda function (its code is never run: `handler` is) named FUNCTION."""
    aws.register_handler(FUNCTION, handler)
    functions = aws.client("lambda")
    try:
        return str(functions.get_function(FunctionName=FUNCTION)["Configuration"]["FunctionArn"])
    except functions.exceptions.ResourceNotFoundException:
        pass
    role = aws.client("iam").create_role(RoleName="sandbox", AssumeRolePolicyDocument="{}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "")
    created = functions.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="handler.lambda_handler",
        Timeout=900,  # the template's value is overridden by the engine's lambda_timeout
        Code={"ZipFile": buffer.getvalue()},
    )
    return str(created["FunctionArn"])


def _execute(aws: LocalAws, definition: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """Run the definition to its end; its description and its history."""
    stepfunctions = aws.client("stepfunctions")
    machine = stepfunctions.create_state_machine(
        name=f"sandbox-{time.monotonic_ns()}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sandbox",
    )["stateMachineArn"]
    arn = stepfunctions.start_execution(stateMachineArn=machine, name="run", input="{}")[
        "executionArn"
    ]
    deadline = time.monotonic() + 30
    while (described := stepfunctions.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.05)
    events = stepfunctions.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return described, events


def _task(function: str, catch: list[Any], retry: list[Any] | None = None) -> dict[str, Any]:
    return {"Type": "Task", "Resource": function, "Retry": retry or [], "Catch": catch, "End": True}


def _caught(error: str, state: str) -> dict[str, Any]:
    return {"ErrorEquals": [error], "ResultPath": "$.error", "Next": state}


def test_a_handler_past_the_timeout_fails_its_task_with_sandbox_timedout(
    aws: LocalAws, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    function = _function(aws, _sleeper(pids))
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": _task(
                function,
                [_caught("States.Timeout", "WrongCatch"), _caught("Sandbox.Timedout", "Caught")],
            ),
            "WrongCatch": {"Type": "Fail", "Error": "Wrong", "Cause": "States.Timeout matched"},
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    described, events = _execute(aws, definition)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    at = {event["type"]: event["timestamp"] for event in events}
    ran = (at["LambdaFunctionFailed"] - at["LambdaFunctionStarted"]).total_seconds()
    assert TIMEOUT <= ran < TIMEOUT + 2  # stopped at its timeout, not at the handler's 30 s
    error = json.loads(described["output"])["error"]
    assert error["Error"] == TIMED_OUT
    assert json.loads(error["Cause"])["errorMessage"].endswith("Task timed out after 1.50 seconds")
    assert all(_gone(int(pid)) for pid in pids.read_text().split())


def test_a_result_over_256_kb_fails_the_execution_past_states_all(aws: LocalAws) -> None:
    function = _function(aws, lambda event, context: {"blob": "x" * (256 * 1024)})
    retry = [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}]
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": _task(function, [_caught("States.ALL", "Caught")], retry),
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    described, events = _execute(aws, definition)
    assert (described["status"], described["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert [event["type"] for event in events].count("LambdaFunctionScheduled") == 1


def test_an_execution_reaching_the_history_quota_fails_as_aws_fails_it(aws: LocalAws) -> None:
    definition = {"StartAt": "Loop", "States": {"Loop": {"Type": "Pass", "Next": "Loop"}}}
    described, events = _execute(aws, definition)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert described["cause"] == history_limit_cause(HISTORY_LIMIT)
    assert len(events) == HISTORY_LIMIT
    assert events[-1]["type"] == "ExecutionFailed"


def test_an_execution_whose_last_allowed_event_is_its_success_succeeds(aws: LocalAws) -> None:
    # ExecutionStarted, two events per Pass state, ExecutionSucceeded: exactly the quota
    passes = (HISTORY_LIMIT - 2) // 2
    states: dict[str, Any] = {
        f"Step{index}": {"Type": "Pass", "Next": f"Step{index + 1}"} for index in range(passes)
    }
    states[f"Step{passes - 1}"] = {"Type": "Pass", "End": True}
    described, events = _execute(aws, {"StartAt": "Step0", "States": states})
    assert described["status"] == "SUCCEEDED"
    assert len(events) == HISTORY_LIMIT


def test_a_childs_log_lines_reach_the_engines_log_group(aws: LocalAws) -> None:
    """`siesa run logs` reads the engine's log groups: a forked handler's lines must get there."""
    from ops.runs import log_group
    from runtime.observability import logger as runtime_logger

    marker = f"child-line-{time.monotonic_ns()}"

    def handler(event: Any, context: Any) -> Any:
        runtime_logger.append_keys(component="extractor")
        try:
            runtime_logger.info(marker)
        finally:
            runtime_logger.remove_keys(["component"])
        return {"pid": os.getpid()}

    function = _function(aws, handler)
    answer = aws.client("lambda").invoke(FunctionName=function, Payload=b"{}")
    child_pid = json.loads(answer["Payload"].read())["pid"]
    assert child_pid != os.getpid()  # it ran in a child
    found = aws.client("logs").filter_log_events(
        logGroupName=log_group("extractor"), filterPattern=marker
    )["events"]
    assert [marker in event["message"] for event in found] == [True]


def test_the_engine_records_each_invocations_function_outcome_time_and_memory(
    aws: LocalAws,
) -> None:
    def handler(event: Any, context: Any) -> Any:
        block = b"m" * (16 * MB)
        if event.get("fail"):
            raise ValueError("asked to fail")
        return len(block)

    function = _function(aws, handler)
    aws.clear_invocations()
    for payload in (b"{}", b'{"fail": true}'):
        aws.client("lambda").invoke(FunctionName=function, Payload=payload)["Payload"].read()
    records = aws.invocations()
    assert [(item.function_name, item.outcome) for item in records] == [
        (FUNCTION, SUCCEEDED),
        (FUNCTION, "ValueError"),
    ]
    for item in records:
        assert 0 < item.seconds < TIMEOUT
        assert item.memory is not None and 8 * MB <= item.memory.grown < 40 * MB
