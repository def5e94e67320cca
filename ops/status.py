"""The last sync of each client and its run history (`siesa status`).

The client item holds what the workflow recorded last (LogSuccess or
LogFailure: status, time, records); the runs table holds one item per run
with its counts and error. The records shown are what the last run loaded
(ops/run_counts.py): a failed run's item keeps the older run's count.

Stock-only syncs are shown apart (`last_stock_sync`): the newest stock run
from the history. A stock run the workflow recorded on the client item last
does not stand for the last sync: then `last_sync` is the newest full or
incremental run from the history (the watermark is never a stock run's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ops.clients import get_config
from ops.deployment import Deployment, resolve, translate_aws_errors
from ops.run_counts import records_loaded
from runtime.config import ClientConfig
from runtime.config_store import InvalidItem
from runtime.sync_state import FINISHED_STATUSES, RunHistory

DEFAULT_HISTORY = 10
DATA_SYNC_TYPES = ("initial", "incremental")
STOCK_SYNC_TYPES = ("stock",)
RUN_FIELDS = (
    "run_id",
    "sync_type",
    "status",
    "started_at",
    "finished_at",
    "extracted_count",
    "records_processed",
    "records_failed",
    "mapping_rejected",
    "records_skipped",
    "bundle_sha256",
    "error",
    "last_error",
)


@dataclass(frozen=True)
class ClientStatus:
    """One client's last sync (from its item) and its recent runs, newest first."""

    config: ClientConfig
    runs: list[dict[str, Any]]
    last_stock_run: dict[str, Any] | None = None
    """The newest stock-only run (None: the client never ran one)."""
    last_data_run: dict[str, Any] | None = None
    """The newest full or incremental run, read when a stock run is the item's last."""

    @property
    def last_sync(self) -> dict[str, Any]:
        """The last full or incremental sync: the item's record, unless a stock run wrote it last."""
        config = self.config
        stock_id = self.last_stock_run.get("run_id") if self.last_stock_run else None
        if stock_id is None or config.last_sync_run_id != stock_id:
            return {
                "status": config.last_sync_status,
                "timestamp": config.last_sync_timestamp,
                "records": self.last_loaded,
                "run_id": config.last_sync_run_id,
            }
        run = self.last_data_run or {}
        return {
            "status": run.get("status"),
            "timestamp": run.get("finished_at") or run.get("started_at"),
            "records": records_loaded(run) if run else None,
            "run_id": run.get("run_id"),
        }

    @property
    def last_stock_sync(self) -> dict[str, Any] | None:
        """The newest stock-only sync: status, time, records changed and failed."""
        run = self.last_stock_run
        if run is None:
            return None
        return {
            "status": run.get("status"),
            "timestamp": run.get("finished_at") or run.get("started_at"),
            "records_changed": run.get("records_processed"),
            "records_failed": run.get("records_failed"),
            "run_id": run.get("run_id"),
        }

    @property
    def last_run(self) -> dict[str, Any] | None:
        """The newest run in the history."""
        return self.runs[0] if self.runs else None

    @property
    def last_bundle(self) -> str | None:
        """The bundle version the newest run that got as far as the transformer used."""
        for run in self.runs:
            version = run.get("bundle_sha256")
            if isinstance(version, str):
                return version
        return None

    @property
    def last_loaded(self) -> int | None:
        """Records the client's last recorded run put into the product (0 for one that loaded none).

        Read from that run's history item: the client item's last_sync_records
        is left as it was by a failed run, so it would show an older run's count.
        """
        config = self.config
        for run in self.runs:
            if run.get("run_id") == config.last_sync_run_id:
                return records_loaded(run)
        if config.last_sync_status in FINISHED_STATUSES:
            return config.last_sync_records
        return None

    @property
    def last_failures(self) -> int | None:
        """Records that did not reach the product in the newest run."""
        run = self.last_run
        value = run.get("records_failed") if run else None
        return value if isinstance(value, int) else None

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        config = self.config
        return {
            "client_id": config.client_id,
            "client_name": config.client_name,
            "product_type": config.product_type,
            "enabled": config.enabled,
            "bundle_pin": config.bundle_pin,
            "last_sync": {
                **self.last_sync,
                "failures": self.last_failures,
                "watermark": config.last_sync_watermark,
                "bundle_sha256": self.last_bundle,
            },
            "last_stock_sync": self.last_stock_sync,
            "runs": [
                {**{key: run.get(key) for key in RUN_FIELDS}, "records_loaded": records_loaded(run)}
                for run in self.runs
            ],
        }


@dataclass(frozen=True)
class StatusReport:
    """Status of every client asked for, and items that do not validate."""

    clients: list[ClientStatus] = field(default_factory=list)
    invalid: list[InvalidItem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "clients": [entry.to_json() for entry in self.clients],
            "invalid": [
                {"client_id": item.client_id, "reason": item.reason} for item in self.invalid
            ],
        }


@translate_aws_errors
def status(
    client_id: str | None = None,
    *,
    history: int = DEFAULT_HISTORY,
    deployment: Deployment | None = None,
) -> StatusReport:
    """One client's status (UnknownClient when absent), or every client's."""
    target = resolve(deployment)
    runs = target.run_history()
    if client_id is not None:
        config = get_config(target, client_id)
        return StatusReport(clients=[_client_status(runs, config, history)])
    listing = target.config_store().list_clients()
    return StatusReport(
        clients=[_client_status(runs, config, history) for config in listing.clients],
        invalid=listing.invalid,
    )


def _client_status(runs: RunHistory, config: ClientConfig, history: int) -> ClientStatus:
    """One client's status: its recent runs, and its stock syncs told apart from the others."""
    recent = runs.list(config.client_id, limit=history)
    stock = next((run for run in recent if run.get("sync_type") in STOCK_SYNC_TYPES), None)
    if stock is None:
        stock = runs.latest(config.client_id, STOCK_SYNC_TYPES)
    data = None
    if stock is not None and stock.get("run_id") == config.last_sync_run_id:
        data = next((run for run in recent if run.get("sync_type") in DATA_SYNC_TYPES), None)
        if data is None:
            data = runs.latest(config.client_id, DATA_SYNC_TYPES)
    return ClientStatus(config, recent, last_stock_run=stock, last_data_run=data)
