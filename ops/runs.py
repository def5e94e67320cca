"""One run, opened: `siesa run show|failed|logs|retry RUN_ID`.

A run is found by its id in run history. Run ids sort by start time to the
millisecond and end in three random hex digits, so two clients' runs share
an id only when both started in the same millisecond and drew the same
digits: an id alone is taken when exactly one client has it; when more do,
the command asks for `--client ID` and names them. With `--client` only that
client's history is read (one GetItem).

What is read: the run-history item (status, sync type, counts, stage times,
watermark before/after, bundle), `summary.json` when the loader wrote one,
the run's `failed-records.ndjson` with its `validation-report.ndjson`
(field and value of each mapping issue), and the functions' log lines
(CloudWatch Logs on AWS; on the local engine the same log groups, which
local/log_sink.py fills). Nothing is written, except by `retry`, which
starts a new run of the same client and sync type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ops.deployment import Deployment, error_code, resolve, translate_aws_errors
from ops.errors import InputError
from ops.run_counts import records_loaded
from ops.sync import StartedSync, read_summary, start_sync
from runtime.config import validate_client_id
from runtime.errors import InvalidClientConfig, InvalidEvent, RunDataError
from runtime.runstore import failed_records_key, validate_run_id, validation_report_key
from runtime.sync_state import FINISHED_STATUSES

COMPONENTS = ("extractor", "transformer", "loader")
LOG_GROUP_PREFIX = "/aws/lambda/siesa-integration-"
"""The functions' log groups (infra/template.yaml): `/aws/lambda/siesa-integration-{component}`."""
LOG_WINDOW_BEFORE = timedelta(minutes=1)
LOG_WINDOW_AFTER = timedelta(minutes=20)
"""Log lines are searched from a minute before the run started to this long after it ended."""
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
STAGE_TIMES = (
    ("extract", "started_at", "extracted_at"),
    ("transform", "extracted_at", "transformed_at"),
    ("load", "transformed_at", "finished_at"),
)


def log_group(component: str) -> str:
    """The log group a component's Lambda function writes to."""
    return f"{LOG_GROUP_PREFIX}{component}"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StageTime:
    """One stage of a run: when it started and ended, and how it ended."""

    name: str
    started_at: str | None
    ended_at: str | None
    outcome: str
    """`done`, `running`, `failed` (the run ended in it) or `not reached`."""

    @property
    def seconds(self) -> float | None:
        """How long the stage took."""
        start, end = _parse_time(self.started_at), _parse_time(self.ended_at)
        if start is None or end is None:
            return None
        return round((end - start).total_seconds(), 3)

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "stage": self.name,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "seconds": self.seconds,
            "outcome": self.outcome,
        }


def stage_times(item: dict[str, Any]) -> list[StageTime]:
    """Extract, transform, load of a run from its history item's times (pure)."""
    status = item.get("status")
    ended = status not in (None, "running")
    stages: list[StageTime] = []
    stopped = False
    for name, start_key, end_key in STAGE_TIMES:
        start = item.get(start_key)
        end = item.get(end_key) if name != "load" or status in FINISHED_STATUSES else None
        if stopped or start is None:
            stages.append(StageTime(name, None, None, "not reached"))
            continue
        if end is not None:
            stages.append(StageTime(name, start, end, "done"))
        elif ended:
            stages.append(StageTime(name, start, item.get("finished_at"), str(status)))
            stopped = True
        else:
            stages.append(StageTime(name, start, None, "running"))
            stopped = True
    return stages


@dataclass(frozen=True)
class RunView:
    """A run as history and its summary tell it."""

    client_id: str
    item: dict[str, Any]
    summary: dict[str, Any] | None = None

    @property
    def run_id(self) -> str:
        """The run's id."""
        return str(self.item["run_id"])

    @property
    def status(self) -> str | None:
        """`running`, `success`, `partial`, `failed` or `skipped`."""
        return self.item.get("status")

    @property
    def watermark_moved(self) -> bool:
        """Only a finished run stores its watermark (runtime/sync_state.py)."""
        return self.status in FINISHED_STATUSES and self.item.get("watermark") is not None

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        item = self.item
        summary = self.summary or {}
        return {
            "client_id": self.client_id,
            "run_id": self.run_id,
            "sync_type": item.get("sync_type"),
            "status": self.status,
            "started_at": item.get("started_at"),
            "finished_at": item.get("finished_at"),
            "records": {
                "extracted": item.get("extracted_count"),
                "mapped": item.get("canonical_count"),
                "rejected_by_mapping": item.get("rejected_count"),
                "processed": item.get("records_processed"),
                "loaded": records_loaded(item),
                "failed": item.get("records_failed"),
                "skipped": item.get("records_skipped", item.get("skipped_count")),
                "left_scope": item.get("records_left_scope"),
            },
            "stages": [stage.to_json() for stage in stage_times(item)],
            "bundle_sha256": item.get("bundle_sha256"),
            "mapping_sha256": item.get("mapping_sha256"),
            "watermark": {
                "before": item.get("modified_since"),
                "after": item.get("watermark"),
                "moved": self.watermark_moved,
                "zone": "ERP local time",
            },
            "error": item.get("error"),
            "last_error": item.get("last_error"),
            "failed_records_key": summary.get("failed_records_key"),
            "failed_records_alert": summary.get("failed_records_alert"),
        }


def _client_ids(deployment: Deployment) -> list[str]:
    listing = deployment.config_store().list_clients()
    ids = [config.client_id for config in listing.clients]
    ids += [item.client_id for item in listing.invalid if item.client_id]
    return sorted(set(ids))


def find_run(
    deployment: Deployment, run_id: str, client_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """(client id, run-history item) of a run; InputError when none or several clients have it."""
    try:
        run_id = validate_run_id(run_id.strip())
        if client_id is not None:
            client_id = validate_client_id(client_id)
    except (InvalidEvent, InvalidClientConfig) as exc:
        raise InputError(str(exc)) from None
    history = deployment.run_history()
    candidates = [client_id] if client_id is not None else _client_ids(deployment)
    found = [(cid, item) for cid in candidates if (item := history.get(cid, run_id)) is not None]
    if not found:
        whose = f"client {client_id}" if client_id else "any client"
        raise InputError(
            f"no run {run_id} of {whose} at {deployment.where}; "
            "list a client's runs with `siesa status --client ID`"
        )
    if len(found) > 1:
        names = ", ".join(cid for cid, _ in found)
        raise InputError(f"run {run_id} exists for several clients ({names}); add --client ID")
    return found[0]


@translate_aws_errors
def show_run(
    run_id: str, *, client_id: str | None = None, deployment: Deployment | None = None
) -> RunView:
    """A run's history item and its loader summary (when it wrote one)."""
    target = resolve(deployment)
    found_client, item = find_run(target, run_id, client_id)
    summary = read_summary(found_client, str(item["run_id"]), deployment=target)
    return RunView(found_client, item, summary)


# --- failed records ------------------------------------------------------------------


@dataclass(frozen=True)
class FailedRecord:
    """One failed record of a run, with what the mapping said of each field."""

    record_id: str
    stage: str
    reason: str
    retryable: bool | None
    issues: list[dict[str, Any]] = field(default_factory=list)
    """The mapping's error issues of the record: field, value, reason."""

    def rows(self) -> list[tuple[str, str, str, Any, str]]:
        """(id, stage, field, value, reason): one per mapping issue, else one for the record."""
        if not self.issues:
            return [(self.record_id, self.stage, "", None, self.reason)]
        return [
            (
                self.record_id,
                self.stage,
                str(issue.get("field") or ""),
                issue.get("value"),
                str(issue.get("reason") or ""),
            )
            for issue in self.issues
        ]

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "id": self.record_id,
            "stage": self.stage,
            "reason": self.reason,
            "retryable": self.retryable,
            "fields": [
                {
                    "field": issue.get("field"),
                    "value": issue.get("value"),
                    "reason": issue.get("reason"),
                }
                for issue in self.issues
            ],
        }


@dataclass(frozen=True)
class FailedPage:
    """One page of a run's failed records."""

    client_id: str
    run_id: str
    page: int
    page_size: int
    total: int
    records: list[FailedRecord]
    report_key: str

    @property
    def pages(self) -> int:
        """How many pages the report makes."""
        return max(1, -(-self.total // self.page_size))

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "client_id": self.client_id,
            "run_id": self.run_id,
            "page": self.page,
            "pages": self.pages,
            "page_size": self.page_size,
            "total": self.total,
            "report_key": self.report_key,
            "records": [record.to_json() for record in self.records],
        }


def _mapping_issues(
    deployment: Deployment, client_id: str, run_id: str, ids: set[str]
) -> dict[str, list[dict[str, Any]]]:
    """The error issues of the validation report for these record ids (streamed)."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not ids:
        return found
    try:
        for line in deployment.run_store().iter_lines(validation_report_key(client_id, run_id)):
            if not isinstance(line, dict) or line.get("severity") in ("warning", "info"):
                continue
            record_id = str(line.get("record_id"))
            if record_id in ids:
                found.setdefault(record_id, []).append(line)
    except RunDataError:
        return {}
    return found


@translate_aws_errors
def failed_records(
    run_id: str,
    *,
    client_id: str | None = None,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    deployment: Deployment | None = None,
) -> FailedPage:
    """Page `page` (from 1) of a run's failed records, read from its report as it streams."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputError(f"page starts at 1 and page size is 1..{MAX_PAGE_SIZE}")
    target = resolve(deployment)
    found_client, item = find_run(target, run_id, client_id)
    run_id = str(item["run_id"])
    key = failed_records_key(found_client, run_id)
    first = (page - 1) * page_size
    lines: list[dict[str, Any]] = []
    total = 0
    try:
        for line in target.run_store().iter_lines(key):
            if not isinstance(line, dict):
                continue
            if first <= total < first + page_size:
                lines.append(line)
            total += 1
    except RunDataError:
        raise InputError(
            f"run {run_id} of {found_client} left no failed-records report "
            f"(status {item.get('status')}: it stopped before loading); "
            f"see `siesa run show {run_id}`"
        ) from None
    mapping = {str(line.get("id")) for line in lines if line.get("stage") == "mapping"}
    issues = _mapping_issues(target, found_client, run_id, mapping)
    records = [
        FailedRecord(
            record_id=str(line.get("id")),
            stage=str(line.get("stage") or "-"),
            reason=str(line.get("reason") or "no reason given"),
            retryable=line.get("retryable"),
            issues=issues.get(str(line.get("id")), []) if line.get("stage") == "mapping" else [],
        )
        for line in lines
    ]
    return FailedPage(found_client, run_id, page, page_size, total, records, key)


# --- log lines -----------------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    """One structured log line of a run's handlers."""

    timestamp: str
    level: str
    component: str
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "timestamp": self.timestamp,
            "level": self.level,
            "component": self.component,
            "message": self.message,
            "metadata": self.metadata,
        }


@dataclass(frozen=True)
class RunLogs:
    """A run's log lines, oldest first, and the log groups that do not exist here."""

    client_id: str
    run_id: str
    lines: list[LogLine]
    missing_groups: list[str]

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "client_id": self.client_id,
            "run_id": self.run_id,
            "lines": [line.to_json() for line in self.lines],
            "missing_log_groups": self.missing_groups,
        }


def run_log_line(message: str, client_id: str, run_id: str) -> LogLine | None:
    """A log event's message as a LogLine when it is this run's structured line (pure)."""
    try:
        document = json.loads(message)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    if document.get("run_id") != run_id or document.get("client_id") != client_id:
        return None
    metadata = document.get("metadata")
    return LogLine(
        timestamp=str(document.get("timestamp") or ""),
        level=str(document.get("level") or ""),
        component=str(document.get("component") or ""),
        message=str(document.get("message") or ""),
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def _events(
    deployment: Deployment, group: str, run_id: str, start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    paginator = deployment.client("logs").get_paginator("filter_log_events")
    for page in paginator.paginate(
        logGroupName=group,
        startTime=int(start.timestamp() * 1000),
        endTime=int(end.timestamp() * 1000),
        filterPattern=f'"{run_id}"',
    ):
        yield from page.get("events", [])


@translate_aws_errors
def run_logs(
    run_id: str, *, client_id: str | None = None, deployment: Deployment | None = None
) -> RunLogs:
    """The run's log lines from its functions' log groups, in time order."""
    target = resolve(deployment)
    found_client, item = find_run(target, run_id, client_id)
    run_id = str(item["run_id"])
    started = _parse_time(item.get("started_at")) or datetime.now(UTC)
    finished = _parse_time(item.get("finished_at")) or datetime.now(UTC)
    start, end = started - LOG_WINDOW_BEFORE, finished + LOG_WINDOW_AFTER
    lines: list[tuple[int, LogLine]] = []
    missing: list[str] = []
    for component in COMPONENTS:
        group = log_group(component)
        try:
            for event in _events(target, group, run_id, start, end):
                line = run_log_line(str(event.get("message", "")), found_client, run_id)
                if line is not None:
                    lines.append((int(event.get("timestamp", 0)), line))
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            missing.append(group)
    lines.sort(key=lambda pair: (pair[0], pair[1].timestamp))
    return RunLogs(found_client, run_id, [line for _, line in lines], missing)


# --- retry ---------------------------------------------------------------------------


@translate_aws_errors
def retry_run(
    run_id: str, *, client_id: str | None = None, deployment: Deployment | None = None
) -> StartedSync:
    """Start a new run of the same client with the run's sync type (refused while one runs)."""
    target = resolve(deployment)
    found_client, item = find_run(target, run_id, client_id)
    sync_type = str(item.get("sync_type") or "incremental")
    return start_sync(found_client, sync_type, deployment=target)
