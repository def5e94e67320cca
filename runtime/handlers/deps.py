"""What the stage runs need from the outside world, built from the environment by default.

The runs take a `Deps` so tests (and the local engine) can swap one part,
e.g. a Siesa source with a no-op sleep, while everything else stays real.
`clock` is the one source of every time stamp a run writes: a test that
fixes it sees its time in the outputs and in run history.

Each run first calls `for_client(stage, client_id)`: from then on every call
on the client's data (its item, its run history, its secrets, its `runs/`)
goes through the client's tenant session (runtime/tenant_session.py); only
the mapping bundle is read with the function's own role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from runtime import aws, settings, tenant_session
from runtime.adapters.registry import get_adapter_class
from runtime.config import ClientConfig, ProductCredentials, SiesaCredentials
from runtime.config_store import ConfigStore, iso_utc, now_utc
from runtime.mapping_loader import BundleLoader
from runtime.observability import logger, record_run_failed
from runtime.runstore import RunStore
from runtime.stages.dedup_index import DedupIndex, MemoryDedupIndex, TableDedupIndex
from runtime.sync_state import RunHistory, SyncState
from runtime.tenant_session import TenantSession

# Imported on first call, not with the handler: only the extractor talks to Siesa (httpx, the
# HTTP retry stack) and only the extractor and the loader read secrets (Powertools' parameters
# utility), so the transformer's cold start pays for neither.


def get_siesa_credentials(config: ClientConfig, secretsmanager: Any) -> SiesaCredentials:
    """The client's Siesa credentials (runtime.secrets.get_siesa_credentials)."""
    from runtime import secrets

    return secrets.get_siesa_credentials(config, secretsmanager=secretsmanager)


def get_product_credentials(config: ClientConfig, secretsmanager: Any) -> ProductCredentials:
    """The client's product credentials (runtime.secrets.get_product_credentials)."""
    from runtime import secrets

    return secrets.get_product_credentials(config, secretsmanager=secretsmanager)


def make_source(*args: Any, **kwargs: Any) -> Any:
    """The Siesa source for the client's dialect (runtime.siesa.make_source)."""
    from runtime.siesa import make_source as make

    return make(*args, **kwargs)


def execution_status(execution_arn: str) -> str | None:
    """The execution's status (metadata only, never its input or output); None when there is none."""
    try:
        described = aws.client("stepfunctions").describe_execution(
            executionArn=execution_arn, includedData="METADATA_ONLY"
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
            return None
        raise
    return str(described.get("status") or "") or None


@dataclass
class Deps:
    """Stores, loaders and factories the runs call; every default reads settings at build time."""

    configs: ConfigStore = field(default_factory=ConfigStore)
    history: RunHistory = field(default_factory=RunHistory)
    bundles: BundleLoader = field(default_factory=BundleLoader)
    siesa_credentials: Callable[[ClientConfig, Any], SiesaCredentials] = get_siesa_credentials
    product_credentials: Callable[[ClientConfig, Any], ProductCredentials] = get_product_credentials
    source_factory: Callable[..., Any] = make_source
    adapter_class: Callable[[str], Any] = get_adapter_class
    execution_status: Callable[[str], str | None] = execution_status
    """A workflow execution's status, asked with the function's own role (run_lease.py)."""
    clock: Callable[[], datetime] = now_utc
    batch_size: int | None = None
    page_size: int | None = None
    product_concurrency: int | None = None
    """Batches at the product at once; None: the client config's `product_concurrency`."""
    tenant: TenantSession | None = None
    """The client's tenant session, once `for_client` opened it; None: the ambient session."""

    def __post_init__(self) -> None:
        # One clock for every stamp: stores left on the wall clock follow a clock given here.
        if self.clock is not now_utc:
            for store in (self.configs, self.history):
                if store.clock is now_utc:
                    store.clock = self.clock

    def for_client(self, stage: str, client_id: str) -> Deps:
        """These deps with the client's data reached through its tenant session.

        The same deps where no tenant role is configured (the local engine without a
        stack, unit tests); on AWS that is TenantRoleNotConfigured (fail closed).
        """
        tenant = tenant_session.session_for(stage, client_id)
        if tenant is None:
            return self
        dynamodb = tenant.client("dynamodb")
        return replace(
            self,
            configs=ConfigStore(
                self.configs.table_name, dynamodb=dynamodb, clock=self.configs.clock
            ),
            history=RunHistory(
                self.history.table_name, dynamodb=dynamodb, clock=self.history.clock
            ),
            tenant=tenant,
        )

    def client(self, service_name: str) -> Any:
        """An AWS client for the client's data: its tenant session's, else the ambient one."""
        if self.tenant is not None:
            return self.tenant.client(service_name)
        return aws.client(service_name)

    def budget_options(self, config: ClientConfig, name: str) -> dict[str, Any]:
        """`budget=` the client's budget `name` (`siesa`, `product`) of the budgets table.

        Reached through the client's tenant session and shared by every
        invocation and worker of the client (runtime/budgets.py). Empty where no
        table is configured: the source or adapter then keeps its own.
        """
        table = settings.budgets_table()
        if table is None:
            return {}
        from runtime.budgets import TableBudget, rate_of

        rate = rate_of(config, name)
        return {"budget": TableBudget(table, name, rate, dynamodb=self.client("dynamodb"))}

    def dedup_index(self, client_id: str, run_id: str, seq: int) -> DedupIndex:
        """The run's dedup index: in DEDUP_TABLE through the client's tenant session, else in memory.

        `seq` numbers the extractor invocation (runtime/stages/dedup_index.py).
        """
        table = settings.dedup_table()
        if table is None:
            return MemoryDedupIndex()
        return TableDedupIndex(table, client_id, run_id, seq, dynamodb=self.client("dynamodb"))

    def read_siesa_credentials(self, config: ClientConfig) -> SiesaCredentials:
        """The client's Siesa secret, read through its tenant session."""
        return self.siesa_credentials(config, self.client("secretsmanager"))

    def read_product_credentials(self, config: ClientConfig) -> ProductCredentials:
        """The client's product secret, read through its tenant session."""
        return self.product_credentials(config, self.client("secretsmanager"))

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
        """The run store of `bucket` (the event's), else of CONFIG_BUCKET, on the tenant session."""
        return RunStore(bucket, s3=self.client("s3"), page_size=self.page_size)
