"""Sync state: run history (`siesa-integration-runs`), last_sync_* and the incremental watermark.

Rules:
- One run-history item per run (PK client_id, SK run_id): sync type, start
  and finish times, counts, status (`running`, then `success`, `partial` or
  `failed`) and the error; a start refused by the client's run lease is
  one item `skipped`, its reason as the error. A run is finished or failed only while it is
  `running` (conditional writes), so a late duplicate cannot rewrite it.
- A transient error ends the run as `failed` with `retryable` set, at once:
  if the workflow's retries are spent, nothing else would ever end it. The
  workflow's retry of the same run resumes it (`running` again, the error
  kept as `last_error`); only a run failed that way can be resumed.
- The watermark of an incremental sync is the extraction START time (a
  record changed while the run pages through is caught next time), floored
  to the second and converted to the client's Siesa time zone. It is stored
  only when the run finished (`success` or `partial`), and never by a run
  older than the one last recorded (see ConfigStore.update_sync_status).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError

from runtime import aws, settings
from runtime.config import ClientConfig, SyncType, validate_client_id
from runtime.config_store import ConfigStore, from_item, now_utc, to_item, utc_now_iso
from runtime.errors import InvalidEvent
from runtime.observability import logger, redact
from runtime.runstore import validate_run_id

RUNNING = "running"
SKIPPED = "skipped"
"""A start that did not run: another run of the client held the run lease (runtime/run_lease.py)."""
FINISHED_STATUSES = ("success", "partial")
FINAL_STATUSES = ("success", "partial", "failed")
MAX_ERROR_LENGTH = 1000

RUNS_TABLE_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "client_id", "AttributeType": "S"},
        {"AttributeName": "run_id", "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": "client_id", "KeyType": "HASH"},
        {"AttributeName": "run_id", "KeyType": "RANGE"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
"""`create_table` arguments (without TableName) for the run history table."""


# --- watermark rules (pure) ------------------------------------------------------------


def extraction_watermark(started_at: datetime, timezone: str) -> str:
    """The watermark for a run that started extracting at `started_at`, in the client's zone."""
    if started_at.tzinfo is None:
        raise ValueError("started_at must be timezone-aware")
    floored = started_at.replace(microsecond=0)
    return floored.astimezone(ZoneInfo(timezone)).isoformat()


def modified_since(config: ClientConfig, sync_type: SyncType) -> str | None:
    """What to ask Siesa for: None (everything) for an initial or stock sync or before any watermark."""
    if sync_type in ("initial", "stock"):
        return None
    return config.last_sync_watermark


def should_store_watermark(status: str) -> bool:
    """Only a finished run (success or partial) moves the watermark."""
    return status in FINISHED_STATUSES


def parse_watermark(value: object) -> str:
    """A watermark from an event: an ISO 8601 time with an offset; InvalidEvent otherwise."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return value
    raise InvalidEvent("watermark must be an ISO 8601 time with an offset")


def run_status(records_processed: int, records_failed: int) -> str:
    """success (nothing failed), failed (nothing reached the product), partial otherwise."""
    if records_failed <= 0:
        return "success"
    if records_failed >= records_processed:
        return "failed"
    return "partial"


def error_text(error: BaseException | str) -> str:
    """A short, redacted description of an error for run history."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    text = redact(text)
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 3] + "..."


# --- run history -----------------------------------------------------------------------


class RunHistory:
    """One item per run in the runs table."""

    def __init__(
        self,
        table_name: str | None = None,
        *,
        dynamodb: Any | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.table_name = settings.runs_table(table_name)
        self.dynamodb = dynamodb if dynamodb is not None else aws.client("dynamodb")
        self.clock = clock

    def _key(self, client_id: str, run_id: str) -> dict[str, Any]:
        return {
            "client_id": {"S": validate_client_id(client_id)},
            "run_id": {"S": validate_run_id(run_id)},
        }

    def start(
        self, client_id: str, run_id: str, *, sync_type: str, started_at: str, **fields: Any
    ) -> None:
        """Create the run's item (status running).

        A retry of a running run, or of one a transient error failed, starts it
        again: its fields are set anew, the error it failed with is kept as
        `last_error`.
        """
        values = {
            "sync_type": sync_type,
            "status": RUNNING,
            "started_at": started_at,
            "updated_at": utc_now_iso(self.clock),
            **fields,
        }
        setting = {name: value for name, value in values.items() if value is not None}
        removing = [name for name, value in values.items() if value is None]
        removing += ["finished_at", "error", "retryable"]
        names = {f"#f{index}": name for index, name in enumerate([*setting, *removing])}
        by_name = {name: key for key, name in names.items()}
        names["#s"] = "status"
        expression = "SET " + ", ".join(
            f"{by_name[name]} = :v{i}" for i, name in enumerate(setting)
        )
        expression += " REMOVE " + ", ".join(by_name[name] for name in removing)
        arguments = to_item({f":v{i}": value for i, value in enumerate(setting.values())})
        arguments.update(
            {":running": {"S": RUNNING}, ":failed": {"S": "failed"}, ":yes": {"BOOL": True}}
        )
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(client_id, run_id),
                UpdateExpression=expression,
                ConditionExpression=(
                    "attribute_not_exists(run_id) OR #s = :running "
                    "OR (#s = :failed AND retryable = :yes)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=arguments,
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise InvalidEvent(f"run {run_id} of {client_id} has already ended") from None
            raise

    def skipped(
        self, client_id: str, run_id: str, *, sync_type: str, at: str, reason: str, **fields: Any
    ) -> None:
        """Record a start that did not run (another run of the client held its lease), with why.

        A new item only: a skip never rewrites a run that did start.
        """
        values = {
            "sync_type": sync_type,
            "status": SKIPPED,
            "started_at": at,
            "finished_at": at,
            "updated_at": utc_now_iso(self.clock),
            "error": error_text(reason),
            **fields,
        }
        setting = {name: value for name, value in values.items() if value is not None}
        names = {f"#f{index}": name for index, name in enumerate(setting)}
        expression = "SET " + ", ".join(f"#f{index} = :v{index}" for index in range(len(setting)))
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=self._key(client_id, run_id),
            UpdateExpression=expression,
            ConditionExpression="attribute_not_exists(run_id)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(
                {f":v{index}": value for index, value in enumerate(setting.values())}
            ),
        )

    def update(self, client_id: str, run_id: str, **fields: Any) -> None:
        """Set fields (counts, stage times) on a run's item."""
        self._set(client_id, run_id, fields, condition=None)

    def finish(
        self, client_id: str, run_id: str, *, status: str, finished_at: str, **fields: Any
    ) -> bool:
        """End a running run with its final status; False when it had already ended."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final status: {status!r}")
        return self._set(
            client_id,
            run_id,
            {"status": status, "finished_at": finished_at, **fields},
            condition="#s = :running",
        )

    def fail(
        self, client_id: str, run_id: str, *, error: BaseException | str, finished_at: str
    ) -> bool:
        """End a running run as failed with its (redacted) error; False when it had already ended."""
        return self.finish(
            client_id, run_id, status="failed", finished_at=finished_at, error=error_text(error)
        )

    def note_error(self, client_id: str, run_id: str, error: BaseException | str) -> None:
        """Remember a transient error on a run that stays open."""
        self._set(client_id, run_id, {"last_error": error_text(error)}, condition="#s = :running")

    def fail_retryable(
        self, client_id: str, run_id: str, *, error: BaseException | str, finished_at: str
    ) -> bool:
        """End a running run as failed by a transient error; the workflow's retry may resume it.

        Ended now, not left open: when the workflow's retries are spent no
        handler runs again, and the run must not stay `running` for ever.
        """
        text = error_text(error)
        return self.finish(
            client_id,
            run_id,
            status="failed",
            finished_at=finished_at,
            error=text,
            last_error=text,
            retryable=True,
        )

    def resume(self, client_id: str, run_id: str) -> bool:
        """Reopen a run a transient error failed, for the workflow's retry; False otherwise."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(client_id, run_id),
                UpdateExpression="SET #s = :running, updated_at = :now "
                "REMOVE finished_at, #e, retryable",
                ConditionExpression="#s = :failed AND retryable = :yes",
                ExpressionAttributeNames={"#s": "status", "#e": "error"},
                ExpressionAttributeValues={
                    ":running": {"S": RUNNING},
                    ":failed": {"S": "failed"},
                    ":yes": {"BOOL": True},
                    ":now": {"S": utc_now_iso(self.clock)},
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def _set(
        self, client_id: str, run_id: str, fields: dict[str, Any], condition: str | None
    ) -> bool:
        values = {**fields, "updated_at": utc_now_iso(self.clock)}
        names = {f"#f{index}": name for index, name in enumerate(values)}
        setting = {index: value for index, value in enumerate(values.values()) if value is not None}
        removing = [index for index, value in enumerate(values.values()) if value is None]
        expression = "SET " + ", ".join(f"#f{index} = :v{index}" for index in setting)
        if removing:
            expression += " REMOVE " + ", ".join(f"#f{index}" for index in removing)
        serialized = to_item({f":v{index}": value for index, value in setting.items()})
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._key(client_id, run_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialized,
        }
        if condition is not None:
            arguments["ConditionExpression"] = condition
            names["#s"] = "status"
            serialized[":running"] = {"S": RUNNING}
        else:
            arguments["ConditionExpression"] = "attribute_exists(run_id)"
        try:
            self.dynamodb.update_item(**arguments)
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def get(self, client_id: str, run_id: str) -> dict[str, Any] | None:
        """A run's item, or None."""
        response = self.dynamodb.get_item(
            TableName=self.table_name, Key=self._key(client_id, run_id), ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def list(self, client_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The client's most recent runs, newest first."""
        response = self.dynamodb.query(
            TableName=self.table_name,
            KeyConditionExpression="client_id = :c",
            ExpressionAttributeValues={":c": {"S": validate_client_id(client_id)}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_item(item) for item in response.get("Items", [])]

    def latest(
        self, client_id: str, sync_types: Iterable[str], *, max_pages: int = 5
    ) -> dict[str, Any] | None:
        """The client's newest run of one of `sync_types`, reading at most `max_pages` pages.

        Stock syncs run far more often than full ones (every 15 minutes against
        every few hours), so the newest full run may lie behind many stock runs.
        """
        values = {":c": {"S": validate_client_id(client_id)}}
        names = sorted(set(sync_types))
        values.update({f":t{i}": {"S": name} for i, name in enumerate(names)})
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "client_id = :c",
            "FilterExpression": "sync_type IN ("
            + ", ".join(f":t{i}" for i in range(len(names)))
            + ")",
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": 100,
        }
        for _ in range(max_pages):
            response = self.dynamodb.query(**request)
            items = response.get("Items", [])
            if items:
                return from_item(items[0])
            if "LastEvaluatedKey" not in response:
                return None
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return None


# --- the whole sync state ----------------------------------------------------------------


class SyncState:
    """Run history plus the client item's last_sync_* and watermark."""

    def __init__(
        self, history: RunHistory | None = None, configs: ConfigStore | None = None
    ) -> None:
        self.history = history or RunHistory()
        self.configs = configs or ConfigStore()

    def finished(
        self,
        client_id: str,
        run_id: str,
        *,
        status: str,
        finished_at: str,
        records_success: int,
        watermark: str | None,
        **fields: Any,
    ) -> None:
        """A run's loader finished: end its history item, record last_sync_*, maybe move the watermark."""
        ended = self.history.finish(
            client_id, run_id, status=status, finished_at=finished_at, **fields
        )
        if not ended:
            logger.warning("run had already ended; its history item is left as it was")
        stored_watermark = watermark if should_store_watermark(status) else None
        recorded = self.configs.update_sync_status(
            client_id,
            run_id=run_id,
            status=status,
            timestamp=finished_at,
            records=records_success,
            watermark=stored_watermark,
        )
        if not recorded:
            logger.info(
                "a newer run is already recorded on the client; last_sync_* left as they were"
            )

    def failed(
        self,
        client_id: str,
        run_id: str,
        error: BaseException | str,
        *,
        finished_at: str | None = None,
    ) -> None:
        """A run stopped on an error: end its history item and record last_sync_status failed."""
        now = finished_at or utc_now_iso(self.history.clock)
        self.history.fail(client_id, run_id, error=error, finished_at=now)
        self.configs.update_sync_status(
            client_id, run_id=run_id, status="failed", timestamp=now, records=None
        )


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
