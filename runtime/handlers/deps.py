"""What the handler cores need from the outside world, built from the environment by default.

The cores take a `Deps` so tests (and the local engine) can swap one part,
e.g. a Siesa source with a no-op sleep, while everything else stays real.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime import secrets
from runtime.adapters.registry import get_adapter_class
from runtime.bundle import BundleLoader
from runtime.config import ClientConfig, ProductCredentials, SiesaCredentials
from runtime.config_store import ConfigStore, utc_now_iso
from runtime.observability import logger, record_run_failed
from runtime.runstore import RunStore
from runtime.siesa import make_source
from runtime.sync_state import RunHistory, SyncState, now_utc


@dataclass
class Deps:
    """Stores, loaders and factories the cores call; every default reads settings at build time."""

    configs: ConfigStore = field(default_factory=ConfigStore)
    history: RunHistory = field(default_factory=RunHistory)
    bundles: BundleLoader = field(default_factory=BundleLoader)
    siesa_credentials: Callable[[ClientConfig], SiesaCredentials] = secrets.get_siesa_credentials
    product_credentials: Callable[[ClientConfig], ProductCredentials] = (
        secrets.get_product_credentials
    )
    source_factory: Callable[..., Any] = make_source
    adapter_class: Callable[[str], Any] = get_adapter_class
    clock: Callable[[], datetime] = now_utc
    batch_size: int | None = None
    page_size: int | None = None

    @property
    def sync(self) -> SyncState:
        """Run history and the client item's sync fields together."""
        return SyncState(self.history, self.configs)

    def record_error(self, client_id: str, run_id: str, error: Exception, *, final: bool) -> None:
        """End the run as failed: for good, or (transient) until the workflow's retry resumes it.

        Bookkeeping must never hide the original error: its own failures are only logged.
        """
        try:
            if final:
                self.sync.failed(client_id, run_id, error)
                record_run_failed()
            else:
                self.history.fail_retryable(
                    client_id, run_id, error=error, finished_at=utc_now_iso()
                )
        except Exception:
            logger.exception("could not record the run's error in run history")

    def resume_run(self, client_id: str, run_id: str) -> None:
        """A retry of a stage: reopen the run a transient error failed (no-op when it is open)."""
        try:
            if self.history.resume(client_id, run_id):
                logger.info("resuming the run after a transient error")
        except Exception:
            logger.exception("could not resume the run in run history")

    def run_store(self, bucket: str | None = None) -> RunStore:
        """The run store of `bucket` (the event's), else of CONFIG_BUCKET."""
        return RunStore(bucket, page_size=self.page_size)
