"""What the stage runs need from the outside world, built from the environment by default.

The runs take a `Deps` so tests (and the local engine) can swap one part,
e.g. a Siesa source with a no-op sleep, while everything else stays real.
`clock` is the one source of every time stamp a run writes: a test that
fixes it sees its time in the outputs and in run history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.adapters.registry import get_adapter_class
from runtime.config import ClientConfig, ProductCredentials, SiesaCredentials
from runtime.config_store import ConfigStore, iso_utc, now_utc
from runtime.mapping_loader import BundleLoader
from runtime.observability import logger, record_run_failed
from runtime.runstore import RunStore
from runtime.sync_state import RunHistory, SyncState

# Imported on first call, not with the handler: only the extractor talks to Siesa (httpx, the
# HTTP retry stack) and only the extractor and the loader read secrets (Powertools' parameters
# utility), so the transformer's cold start pays for neither.


def get_siesa_credentials(config: ClientConfig) -> SiesaCredentials:
    """The client's Siesa credentials (runtime.secrets.get_siesa_credentials)."""
    from runtime import secrets

    return secrets.get_siesa_credentials(config)


def get_product_credentials(config: ClientConfig) -> ProductCredentials:
    """The client's product credentials (runtime.secrets.get_product_credentials)."""
    from runtime import secrets

    return secrets.get_product_credentials(config)


def make_source(*args: Any, **kwargs: Any) -> Any:
    """The Siesa source for the client's dialect (runtime.siesa.make_source)."""
    from runtime.siesa import make_source as make

    return make(*args, **kwargs)


@dataclass
class Deps:
    """Stores, loaders and factories the runs call; every default reads settings at build time."""

    configs: ConfigStore = field(default_factory=ConfigStore)
    history: RunHistory = field(default_factory=RunHistory)
    bundles: BundleLoader = field(default_factory=BundleLoader)
    siesa_credentials: Callable[[ClientConfig], SiesaCredentials] = get_siesa_credentials
    product_credentials: Callable[[ClientConfig], ProductCredentials] = get_product_credentials
    source_factory: Callable[..., Any] = make_source
    adapter_class: Callable[[str], Any] = get_adapter_class
    clock: Callable[[], datetime] = now_utc
    batch_size: int | None = None
    page_size: int | None = None

    def __post_init__(self) -> None:
        # One clock for every stamp: stores left on the wall clock follow a clock given here.
        if self.clock is not now_utc:
            for store in (self.configs, self.history):
                if store.clock is now_utc:
                    store.clock = self.clock

    def now_iso(self) -> str:
        """Now by `clock`, as the design document writes times: `2025-01-15T10:00:00Z`."""
        return iso_utc(self.clock())

    @property
    def sync(self) -> SyncState:
        """Run history and the client item's sync fields together."""
        return SyncState(self.history, self.configs)

    def record_error(
        self,
        client_id: str,
        run_id: str,
        error: Exception,
        *,
        final: bool,
        resumable: bool = True,
    ) -> None:
        """End the run as failed: for good, or (transient) until the workflow's retry resumes it.

        A transient error of a run the retry cannot resume (`resumable=False`:
        the retry will be a new run) ends it as failed, but the client's
        last_sync_status and the success rate wait for the retry's outcome.
        Bookkeeping must never hide the original error: its own failures are only logged.
        """
        try:
            if final:
                self.sync.failed(client_id, run_id, error, finished_at=self.now_iso())
                record_run_failed()
            elif resumable:
                self.history.fail_retryable(
                    client_id, run_id, error=error, finished_at=self.now_iso()
                )
            else:
                self.history.fail(client_id, run_id, error=error, finished_at=self.now_iso())
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
