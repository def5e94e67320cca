"""The last sync of each client and its run history (`siesa status`).

The client item holds what the workflow recorded last (LogSuccess or
LogFailure: status, time, records); the runs table holds one item per run
with its counts and error. The records shown are what the last run loaded
(ops/run_counts.py): a failed run's item keeps the older run's count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ops.clients import get_config
from ops.deployment import Deployment, resolve, translate_aws_errors
from ops.run_counts import records_loaded
from runtime.config import ClientConfig
from runtime.config_store import InvalidItem
from runtime.sync_state import FINISHED_STATUSES

DEFAULT_HISTORY = 10
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
                "status": config.last_sync_status,
                "timestamp": config.last_sync_timestamp,
                "records": self.last_loaded,
                "failures": self.last_failures,
                "run_id": config.last_sync_run_id,
                "watermark": config.last_sync_watermark,
                "bundle_sha256": self.last_bundle,
            },
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
        return StatusReport(
            clients=[ClientStatus(config, runs.list(config.client_id, limit=history))]
        )
    listing = target.config_store().list_clients()
    return StatusReport(
        clients=[
            ClientStatus(config, runs.list(config.client_id, limit=history))
            for config in listing.clients
        ],
        invalid=listing.invalid,
    )
