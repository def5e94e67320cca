"""Starting a client's sync and following it to the loader summary.

`start_sync` starts the workflow with a run id it picks, so the run's data
(`runs/{client_id}/{run_id}/`) is known from the start; it refuses while
another run of the client holds its run lease (RunInProgress, naming it),
and a start that lost the race to another ends `refused`. `wait` follows the
execution history: which state runs now, how many task attempts failed
(the workflow retries transient ones), and the record counts each stage
reports. The outcome carries the loader summary, from the execution output
or, when the workflow failed after loading, from `summary.json`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ops.advice import RunContext, after_sync
from ops.clients import get_config
from ops.deployment import Deployment, error_code, resolve, translate_aws_errors
from ops.errors import ClientIsDisabled, ExecutionNotFound, InputError, OpsError, RunInProgress
from ops.run_counts import records_loaded
from runtime.config import SYNC_TYPES, ClientConfig
from runtime.errors import IntegrationError, InvalidClientConfig, InvalidEvent, RunDataError
from runtime.run_lease import RunLease
from runtime.runstore import new_run_id, summary_key
from runtime.stages.stock import check_stock_sync

MAIN_PATH = ("ExtractFromSiesa", "TransformData", "LoadToProduct", "LogSuccess")
"""The states of a sync that succeeds, in order (infra/statemachine.asl.json)."""
STEP_OF = {
    "MapPages": "TransformData",
    "MapPagesFromS3": "TransformData",
    "FinishRun": "LoadToProduct",
}
"""A run mapped and loaded page by page takes these states for the main path's steps: the
Map state maps and loads every page, the finish step ends the run."""
FAILURE_PATH = (
    "LoadFailed",
    "ReleaseLeaseAfterFailure",
    "NotifyFailure",
    "RecordFailure",
    "LogFailure",
    "LogFailureWithoutRunId",
    "SyncFailed",
)
STATE_WORDS = {
    "StartRun": "starting",
    "ExtractFromSiesa": "extracting from Siesa",
    "CheckLease": "checking the run lease",
    "RunSkipped": "skipped: another run is in progress",
    "NotifySkipped": "alerting on skipped runs",
    "Skipped": "skipped: another run is in progress",
    "ReleaseLease": "releasing the run lease",
    "ReleaseLeaseAfterFailure": "releasing the run lease",
    "Done": "done",
    "TransformData": "mapping records",
    "LoadToProduct": "loading into the product",
    "HowToMap": "choosing how to map the pages",
    "MapPages": "mapping and loading pages",
    "MapPagesFromS3": "mapping and loading pages",
    "TransformPage": "mapping a page",
    "LoadPage": "loading a page",
    "PageDone": "mapping and loading pages",
    "TransformRetried": "mapping the records to retry",
    "LoadRetried": "loading the records to retry",
    "FinishRun": "finishing the run",
    "RunStopped": "gathering the stopped run's reports",
    "CheckLoadStatus": "checking the load",
    "NotifyFailedRecords": "alerting on failed records",
    "LogSuccess": "recording the outcome",
    "NewerRunRecorded": "a newer run is already recorded",
    "LoadFailed": "load failed",
    "NotifyFailure": "alerting",
    "RecordFailure": "recording the failure",
    "LogFailure": "recording the failure",
    "LogFailureWithoutRunId": "recording the failure",
    "SyncFailed": "failed",
}
PAGE_STATES = frozenset({"MapPages", "MapPagesFromS3", "TransformPage", "LoadPage", "PageDone"})
"""The states a page goes through: progress counts pages while the sync is in them."""
FAILED_ATTEMPT_EVENTS = frozenset(
    {"LambdaFunctionFailed", "LambdaFunctionTimedOut", "LambdaFunctionStartFailed", "TaskFailed"}
)
TERMINAL_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
)
EXIT_CODES = {"success": 0, "partial": 3, "failed": 1, "refused": 1}
FAILED_DETAILS = (
    "lambdaFunctionFailedEventDetails",
    "lambdaFunctionTimedOutEventDetails",
    "lambdaFunctionStartFailedEventDetails",
    "taskFailedEventDetails",
)
"""Where a failed attempt's history event keeps its `error` and `cause`."""
REASON_LENGTH = 160
"""How much of the last failed attempt's reason progress shows."""
MAX_EXECUTION_NAME = 80

ProgressHook = Callable[["Progress"], None]


@dataclass(frozen=True)
class StartedSync:
    """An execution `start_sync` started."""

    execution_arn: str
    client_id: str
    run_id: str | None
    sync_type: str
    started_at: datetime


@dataclass(frozen=True)
class Progress:
    """Where a sync is, read from its execution history."""

    client_id: str
    run_id: str | None
    execution_arn: str
    execution_status: str
    state: str | None = None
    steps_done: int = 0
    attempts_failed: int = 0
    extracted: int | None = None
    canonical: int | None = None
    rejected: int | None = None
    elapsed_seconds: float = 0.0
    total_steps: int = len(MAIN_PATH)
    last_reason: str | None = None
    """Why the last failed task attempt failed (error name and cause), while retries go on."""
    pages_done: int | None = None
    pages_total: int | None = None
    """Pages the Map state mapped and loaded, of how many (a run mapped page by page)."""
    map_run_arn: str | None = None
    """The distributed Map's run: its own history holds the pages, `DescribeMapRun` counts them."""

    @property
    def failing(self) -> bool:
        """The workflow took its failure path (alert, record, fail)."""
        return self.state in FAILURE_PATH

    @property
    def finished(self) -> bool:
        """The execution has ended."""
        return self.execution_status != "RUNNING"

    def describe(self) -> str:
        """A few words on what the sync is doing."""
        words = STATE_WORDS.get(self.state or "", self.state or "starting")
        if self.state == "TransformData" and self.extracted is not None:
            words += f" ({self.extracted:,} extracted)"
        elif self.state == "LoadToProduct" and self.canonical is not None:
            words += f" ({self.canonical:,} records)"
        elif self.state in PAGE_STATES and self.pages_total:
            words = f"{STATE_WORDS['MapPages']} ({self.pages_done or 0:,} of {self.pages_total:,})"
        if self.attempts_failed:
            words += f", {self.attempts_failed} attempt(s) failed"
            if self.last_reason:
                words += f"; last: {self.last_reason}"
        return words

    def same_as(self, other: Progress | None) -> bool:
        """Equal apart from the clock (so a hook is called only when something moved)."""
        return other is not None and _key(self) == _key(other)


def _key(progress: Progress) -> tuple[Any, ...]:
    return (
        progress.execution_status,
        progress.state,
        progress.steps_done,
        progress.attempts_failed,
        progress.extracted,
        progress.canonical,
        progress.rejected,
        progress.run_id,
        progress.last_reason,
        progress.pages_done,
        progress.pages_total,
    )


@dataclass(frozen=True)
class SyncOutcome:
    """How a sync ended: the loader summary when there is one, else the workflow's error."""

    client_id: str
    run_id: str | None
    execution_arn: str
    execution_status: str
    status: str
    summary: dict[str, Any] | None
    error: str | None
    cause: str | None
    started_at: datetime
    stopped_at: datetime | None
    progress: Progress = field(repr=False)
    sync_type: str | None = None
    run: dict[str, Any] | None = field(default=None, repr=False)
    """The run-history item: what a failed run extracted and loaded before it stopped."""

    @property
    def records_extracted(self) -> int | None:
        """Records the run extracted (run history), when it got that far."""
        return _count((self.run or {}).get("extracted_count"))

    @property
    def records_loaded(self) -> int | None:
        """Records that reached the product: the loader summary's, else run history's."""
        loaded = _count((self.summary or {}).get("records_success"))
        return loaded if loaded is not None else records_loaded(self.run)

    next_step: str | None = None
    """What to do now (ops.advice); None after a success."""

    @property
    def exit_code(self) -> int:
        """0 success, 3 partial (failed records are reported), 1 failed."""
        return EXIT_CODES.get(self.status, 1)

    @property
    def duration_seconds(self) -> float | None:
        """Wall time of the execution."""
        if self.stopped_at is None:
            return None
        return round((self.stopped_at - self.started_at).total_seconds(), 3)

    def to_json(self) -> dict[str, Any]:
        """The loader summary (when the run got that far) plus the execution's outcome."""
        document: dict[str, Any] = dict(self.summary or {})
        document.setdefault("client_id", self.client_id)
        document.setdefault("run_id", self.run_id)
        document.setdefault("sync_type", self.sync_type)
        document["records_extracted"] = self.records_extracted
        document["records_loaded"] = self.records_loaded
        document["status"] = self.status
        document["execution_arn"] = self.execution_arn
        document["execution_status"] = self.execution_status
        document["execution_seconds"] = self.duration_seconds
        if self.error is not None:
            document["error"] = self.error
            document["cause"] = self.cause
        document["next_step"] = self.next_step
        return document


def execution_name(client_id: str, run_id: str) -> str:
    """`{client_id}-{run_id}`, the client part shortened to fit Step Functions' 80 characters."""
    room = MAX_EXECUTION_NAME - len(run_id) - 1
    return f"{client_id[:room]}-{run_id}"


@dataclass(frozen=True)
class SyncPlan:
    """What `start_sync` would start, checked, and what the run would read (`sync --dry-run`)."""

    config: ClientConfig
    sync_type: str
    state_machine_arn: str
    run_id: str

    @property
    def execution_input(self) -> dict[str, Any]:
        """The workflow's input."""
        return {
            "client_id": self.config.client_id,
            "sync_type": self.sync_type,
            "run_id": self.run_id,
        }

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--dry-run --json` (secrets by name only)."""
        config = self.config
        since = config.last_sync_watermark if self.sync_type != "initial" else None
        return {
            "dry_run": True,
            "client_id": config.client_id,
            "state_machine_arn": self.state_machine_arn,
            "execution_name": execution_name(config.client_id, self.run_id),
            "execution_input": self.execution_input,
            "reads": {
                "siesa_api_url": config.siesa_api_url,
                "siesa_dialect": config.siesa_dialect,
                "modified_since": since,
                "secrets": [config.siesa_credentials_secret, config.product_credentials_secret],
                "mapping": config.field_mappings_key,
                "bundle_pin": config.bundle_pin,
            },
            "writes_to": {"product_api_url": config.product_api_url},
        }


@translate_aws_errors
def plan_sync(
    client_id: str, sync_type: str = "incremental", *, deployment: Deployment | None = None
) -> SyncPlan:
    """Every check `start_sync` makes (known, enabled, not running) and its input; starts nothing."""
    target = resolve(deployment)
    if sync_type not in SYNC_TYPES:
        raise InputError(f"sync type {sync_type!r} must be one of {', '.join(SYNC_TYPES)}")
    config = get_config(target, client_id)
    if not config.enabled:
        raise ClientIsDisabled(
            f"client {config.client_id} is disabled; enable it first "
            f"(`siesa client enable {config.client_id}`)"
        )
    if sync_type == "stock":
        refuse_stock_sync(config)
    refuse_while_running(target, config.client_id)
    return SyncPlan(config, sync_type, target.state_machine_arn, new_run_id())


@translate_aws_errors
def start_sync(
    client_id: str, sync_type: str = "incremental", *, deployment: Deployment | None = None
) -> StartedSync:
    """Start the workflow for an enabled client; returns at once."""
    target = resolve(deployment)
    plan = plan_sync(client_id, sync_type, deployment=target)
    config, run_id = plan.config, plan.run_id
    response = target.client("stepfunctions").start_execution(
        stateMachineArn=plan.state_machine_arn,
        name=execution_name(config.client_id, run_id),
        input=json.dumps(plan.execution_input),
    )
    return StartedSync(
        execution_arn=response["executionArn"],
        client_id=config.client_id,
        run_id=run_id,
        sync_type=sync_type,
        started_at=_aware(response.get("startDate")) or datetime.now(UTC),
    )


def refuse_stock_sync(config: ClientConfig) -> None:
    """InputError before anything starts when the client cannot run a stock sync (Connekta without a column)."""
    try:
        check_stock_sync(config)
    except InvalidClientConfig as exc:
        raise InputError(f"refused: {exc}") from None


def refuse_while_running(deployment: Deployment, client_id: str) -> None:
    """RunInProgress naming the running run when the client's run lease is held by a live execution.

    A first look, so a manual start is refused at once; the lease itself
    (taken by the extractor, runtime/run_lease.py) decides a race between
    two starts, and `wait` reports the loser as refused.
    """
    lease = RunLease(deployment.clients_table, dynamodb=deployment.client("dynamodb"))
    holder = lease.holder(client_id)
    if holder is None or holder.expires_at < time.time():
        return
    try:
        described = deployment.client("stepfunctions").describe_execution(
            executionArn=holder.execution_arn
        )
    except ClientError as exc:
        if error_code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
            return
        raise
    if described.get("status") == "RUNNING":
        raise RunInProgress(
            f"refused: {holder.describe(client_id)}; one run per client at a time. "
            f"Follow it with `siesa status --client {client_id}`, then start again"
        )


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _json_object(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_progress(
    events: Iterable[dict[str, Any]], started: StartedSync, status: str, now: datetime
) -> Progress:
    """Fold an execution history into a Progress (pure)."""
    state: str | None = None
    steps = failed = 0
    run_id = started.run_id
    extracted = canonical = rejected = None
    reason: str | None = None
    pages_done = pages_total = None
    map_run_arn: str | None = None
    for event in events:
        kind = str(event.get("type", ""))
        if kind == "MapStateStarted":  # an inline Map: its iterations are in this history
            pages_total = _count(event.get("mapStateStartedEventDetails", {}).get("length"))
            pages_done = 0
        elif kind == "MapIterationSucceeded" and pages_done is not None:
            pages_done += 1
        elif kind == "MapRunStarted":  # a distributed Map: its iterations are executions
            map_run_arn = event.get("mapRunStartedEventDetails", {}).get("mapRunArn")
        if kind.endswith("StateEntered"):
            state = event.get("stateEnteredEventDetails", {}).get("name")
        elif kind.endswith("StateExited"):
            details = event.get("stateExitedEventDetails", {})
            name = details.get("name")
            step = STEP_OF.get(name, name)
            if step in MAIN_PATH:
                steps = max(steps, MAIN_PATH.index(step) + 1)
            output = _json_object(details.get("output"))
            if name == "ExtractFromSiesa" and "error" not in output:
                # an extraction that continues in another invocation counts in its cursor
                cursor = output.get("cursor")
                extracted = _count(cursor.get("count") if isinstance(cursor, dict) else None)
                extracted = _count(output.get("count")) if extracted is None else extracted
                run_id = run_id or output.get("run_id")
            elif name == "TransformData" and "error" not in output:
                canonical = _count(output.get("count"))
                rejected = _count(output.get("rejected_count"))
            elif name == "FinishRun" and "error" not in output:  # a run mapped page by page
                rejected = _count(output.get("records_rejected"))
                processed = _count(output.get("records_processed"))
                if processed is not None and rejected is not None:
                    canonical = processed - rejected
        elif kind in FAILED_ATTEMPT_EVENTS:
            failed += 1
            reason = failed_reason(event) or reason
    return Progress(
        client_id=started.client_id,
        run_id=run_id,
        execution_arn=started.execution_arn,
        execution_status=status,
        state=state,
        steps_done=steps,
        attempts_failed=failed,
        extracted=extracted,
        canonical=canonical,
        rejected=rejected,
        elapsed_seconds=round((now - started.started_at).total_seconds(), 3),
        last_reason=reason,
        pages_done=pages_done,
        pages_total=pages_total,
        map_run_arn=map_run_arn,
    )


def with_map_run(deployment: Deployment, progress: Progress) -> Progress:
    """A distributed Map's page counts (`DescribeMapRun`) on the progress; unchanged if unreadable."""
    if progress.map_run_arn is None:
        return progress
    try:
        described = deployment.client("stepfunctions").describe_map_run(
            mapRunArn=progress.map_run_arn
        )
    except ClientError:
        return progress  # counts are a courtesy: following the sync goes on without them
    counts = described.get("itemCounts") or {}
    return replace(
        progress,
        pages_done=_count(counts.get("succeeded")),
        pages_total=_count(counts.get("total")),
    )


def failed_reason(event: dict[str, Any]) -> str | None:
    """`Error: cause` of a failed attempt's history event, cut short; None when it has neither."""
    details: dict[str, Any] = {}
    for key in FAILED_DETAILS:
        if isinstance(event.get(key), dict):
            details = event[key]
            break
    error = details.get("error")
    cause = readable_cause(details.get("cause"))
    text = ": ".join(str(part) for part in (error, cause) if part)
    if not text:
        return None
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"


def _history(deployment: Deployment, arn: str) -> list[dict[str, Any]]:
    paginator = deployment.client("stepfunctions").get_paginator("get_execution_history")
    events: list[dict[str, Any]] = []
    for page in paginator.paginate(executionArn=arn):
        events.extend(page.get("events", []))
    return events


def _describe(deployment: Deployment, arn: str) -> dict[str, Any]:
    try:
        described: dict[str, Any] = deployment.client("stepfunctions").describe_execution(
            executionArn=arn
        )
    except ClientError as exc:
        if error_code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
            raise ExecutionNotFound(f"no execution {arn} at {deployment.where}") from None
        raise
    return described


def _started_from(described: dict[str, Any]) -> StartedSync:
    request = _json_object(described.get("input"))
    return StartedSync(
        execution_arn=described["executionArn"],
        client_id=str(request.get("client_id", "?")),
        run_id=request.get("run_id") if isinstance(request.get("run_id"), str) else None,
        sync_type=str(request.get("sync_type", "incremental")),
        started_at=_aware(described.get("startDate")) or datetime.now(UTC),
    )


@translate_aws_errors
def wait(
    execution: StartedSync | str,
    on_progress: ProgressHook | None = None,
    *,
    poll_seconds: float = 0.5,
    timeout_seconds: float | None = None,
    deployment: Deployment | None = None,
) -> SyncOutcome:
    """Follow an execution (a StartedSync or its ARN) to its end; `on_progress` sees each change."""
    target = resolve(deployment)
    started = (
        execution
        if isinstance(execution, StartedSync)
        else _started_from(_describe(target, execution))
    )
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    last: Progress | None = None
    while True:
        if on_progress is None and _running(target, started.execution_arn):
            # nobody follows the steps: one small call says whether it ended; the history (which
            # grows with the run, and is read whole) is read once, at the end
            _wait_a_poll(started, poll_seconds, timeout_seconds, deadline)
            continue
        events = _history(target, started.execution_arn)
        ended = any(event.get("type") in TERMINAL_EVENTS for event in events)
        described = _describe(target, started.execution_arn) if ended else None
        status = str(described["status"]) if described else "RUNNING"
        progress = with_map_run(target, read_progress(events, started, status, datetime.now(UTC)))
        if on_progress is not None and not progress.same_as(last):
            on_progress(progress)
        last = progress
        if described is not None:
            return _outcome(target, started, described, progress)
        _wait_a_poll(started, poll_seconds, timeout_seconds, deadline)


def _running(deployment: Deployment, arn: str) -> bool:
    return str(_describe(deployment, arn)["status"]) == "RUNNING"


def _wait_a_poll(
    started: StartedSync, poll_seconds: float, timeout_seconds: float | None, deadline: float | None
) -> None:
    """Sleep until the next poll, or raise when the sync ran past its timeout."""
    if deadline is not None and time.monotonic() > deadline:
        raise OpsError(
            f"sync of {started.client_id} still running after {timeout_seconds:g} s "
            f"(execution {started.execution_arn})"
        )
    time.sleep(poll_seconds)


def _outcome(
    deployment: Deployment, started: StartedSync, described: dict[str, Any], progress: Progress
) -> SyncOutcome:
    status = str(described["status"])
    summary: dict[str, Any] | None = None
    if status == "SUCCEEDED":
        summary = _json_object(described.get("output")) or None
    elif progress.run_id:
        summary = read_summary(started.client_id, progress.run_id, deployment=deployment)
    loader_status = summary.get("status") if summary else None
    result = (
        loader_status
        if status == "SUCCEEDED" and loader_status in ("success", "partial")
        else "failed"
    )
    error = described.get("error") if status != "SUCCEEDED" else None
    cause = readable_cause(described.get("cause")) if status != "SUCCEEDED" else None
    skipped = summary.get("skipped") if summary else None
    if isinstance(skipped, dict):
        result, error, cause = "refused", "RunInProgress", str(skipped.get("reason"))
    sync_type = summary.get("sync_type") if summary else None
    context = RunContext(
        product_type=_product_type(deployment, started.client_id) if result != "success" else None,
        run_id=progress.run_id,
        sync_type=sync_type if isinstance(sync_type, str) else started.sync_type,
    )
    return SyncOutcome(
        client_id=started.client_id,
        run_id=progress.run_id,
        execution_arn=started.execution_arn,
        execution_status=status,
        status=str(result),
        summary=summary,
        error=error or (None if status == "SUCCEEDED" else status),
        cause=cause,
        started_at=_aware(described.get("startDate")) or started.started_at,
        stopped_at=_aware(described.get("stopDate")),
        progress=progress,
        sync_type=started.sync_type,
        run=_run_item(deployment, started.client_id, progress.run_id),
        next_step=after_sync(str(result), error, started.client_id, context),
    )


def _run_item(deployment: Deployment, client_id: str, run_id: str | None) -> dict[str, Any] | None:
    """The run's history item, or None (no run id, or none recorded: a start refused early)."""
    if not run_id:
        return None
    try:
        return deployment.run_history().get(client_id, run_id)
    except (ClientError, InvalidEvent, InvalidClientConfig):
        return None


def _product_type(deployment: Deployment, client_id: str) -> str | None:
    """The client's product type (names its product secret), None when it cannot be read."""
    try:
        return get_config(deployment, client_id).product_type
    except (OpsError, IntegrationError, ClientError):
        return None


def readable_cause(cause: Any) -> str | None:
    """A Lambda error's message out of its `{"errorType", "errorMessage"}` cause, else the cause."""
    if not isinstance(cause, str):
        return None
    parsed = _json_object(cause)
    message = parsed.get("errorMessage")
    return message if isinstance(message, str) else cause


@translate_aws_errors
def read_summary(
    client_id: str, run_id: str, *, deployment: Deployment | None = None
) -> dict[str, Any] | None:
    """`runs/{client_id}/{run_id}/summary.json`, or None when the run wrote none."""
    target = resolve(deployment)
    try:
        summary = target.run_store().get_json(summary_key(client_id, run_id))
    except RunDataError:
        return None
    return summary if isinstance(summary, dict) else None


@translate_aws_errors
def run_sync(
    client_id: str,
    sync_type: str = "incremental",
    on_progress: ProgressHook | None = None,
    *,
    deployment: Deployment | None = None,
) -> SyncOutcome:
    """Start a sync and wait for it."""
    target = resolve(deployment)
    started = start_sync(client_id, sync_type, deployment=target)
    return wait(started, on_progress, deployment=target)
