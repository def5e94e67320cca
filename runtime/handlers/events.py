"""The event shapes that pass between the workflow's states (docs/architecture.md).

Inputs are parsed here, once, into typed models; a malformed event is an
`InvalidEvent` naming the field. Unknown keys are ignored (Step Functions
may carry more state than a handler needs); outputs are exactly the
documented shapes.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runtime import settings
from runtime.config import SyncType, validate_client_id
from runtime.config_store import describe_validation_error
from runtime.errors import InvalidClientConfig, InvalidEvent
from runtime.runstore import validate_bucket, validate_run_id
from runtime.sync_state import parse_watermark

E = TypeVar("E", bound=BaseModel)


class _Event(BaseModel):
    # Built on first use (`defer_build`): each handler validates or makes two or three of
    # these models, and its cold start builds only those.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    @field_validator("client_id", check_fields=False)
    @classmethod
    def _client_id(cls, value: str) -> str:
        try:
            return validate_client_id(value)
        except InvalidClientConfig as exc:
            raise ValueError(str(exc)) from None


EXECUTION_ARN_PATTERN = (
    r"^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:execution:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]{1,80}$"
)


class LeaseRequest(BaseModel):
    """What the workflow's first state hands the extractor: its own execution, the run lease's holder."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    execution_arn: str = Field(pattern=EXECUTION_ARN_PATTERN)


class ExtractCursor(BaseModel):
    """Where an extraction that ran out of time resumes (the workflow loops it back).

    `seq` numbers the run's extractor invocations (from 0); `source` is the
    ERP listing's position (runtime/siesa/base.py `pages_from`); `next_page`
    the first extracted page the next invocation writes; `count` and
    `duplicates` the dedup's totals so far. The plan's times travel along, so
    every invocation stores the first one's watermark.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    seq: int = Field(ge=1)
    source: dict[str, int]
    next_page: int = Field(ge=1)
    count: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    started_at: str
    modified_since: str | None
    watermark: str


class ExtractRequest(_Event):
    """Extractor input, from EventBridge or `siesa sync`; `run_id` is optional (the CLI may pick one).

    A start without `run_id` is a scheduled one (the rule's input names none).
    `lease` comes from the workflow (StartRun); without it no lease is taken.
    """

    client_id: str
    sync_type: SyncType = "incremental"
    run_id: str | None = None
    lease: LeaseRequest | None = None
    cursor: ExtractCursor | None = None

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value: str | None) -> str | None:
        return None if value is None else _checked(validate_run_id, value)


class Continuing(_Event):
    """Extractor output when its time ran low: the workflow invokes it again with the cursor."""

    client_id: str
    sync_type: SyncType
    run_id: str
    cursor: ExtractCursor


class SkipAlert(BaseModel):
    """The SNS alert of a scheduled start skipped a second time in a row (the workflow publishes it)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    message: str


class SkipReport(BaseModel):
    """Why a start did not run: the run that holds the client's lease."""

    model_config = ConfigDict(frozen=True)

    reason: str
    running_run_id: str | None
    running_execution: str
    scheduled: bool
    in_a_row: int = Field(ge=0)
    alert: SkipAlert | None = None


class Skipped(_Event):
    """Extractor output when another run of the client holds its lease: the workflow ends here."""

    client_id: str
    sync_type: SyncType
    run_id: str
    skipped: SkipReport


INLINE_MAX_PAGES = settings.DEFAULT_INLINE_MAX_PAGES
"""Runs of at most this many extracted pages map and load them through an inline Map state
(the extractor lists them in its output); larger ones through a distributed Map that reads
the pages from S3 (the extractor lists none: its output does not grow with the catalog)."""

Mode = Literal["run", "page", "retried", "finish"]
"""What a transformer or loader invocation covers: the whole run, one extracted page (a Map
iteration), the records retried from the client's retry state, or the run's finish step."""


class Extracted(_Event):
    """Extractor output = transformer input.

    `extracted_pages` lists the run's pages when it has at most
    `inline_max_pages` of them (else it is empty: the pages are listed from
    S3 where needed); `page_count` counts them. `page_concurrency` is how
    many pages the workflow's Map state maps and loads at once (the client's
    `product_concurrency`). `mode` and `page_key` say what one invocation
    covers (`Mode`).
    """

    client_id: str
    product_type: str
    sync_type: SyncType
    run_id: str
    bucket: str
    extracted_pages: list[str]
    count: int = Field(ge=0)
    extraction_timestamp: str
    watermark: str
    page_count: int | None = Field(default=None, ge=0)
    page_concurrency: int = Field(default=1, ge=1, le=64)
    inline_max_pages: int = Field(default=INLINE_MAX_PAGES, ge=0)
    mode: Mode = "run"
    page_key: str | None = None

    @property
    def pages_in_run(self) -> int:
        """How many extracted pages the run has."""
        return len(self.extracted_pages) if self.page_count is None else self.page_count

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value: str) -> str:
        return _checked(validate_run_id, value)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return _checked(validate_bucket, value)

    @field_validator("watermark")
    @classmethod
    def _watermark(cls, value: str) -> str:
        return _checked(parse_watermark, value)


class ValidationSummary(BaseModel):
    """The transformer's `validation_errors`: counts, and where the full report is."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    count: int = Field(ge=0)
    warnings: int = Field(ge=0)
    skipped: int = Field(default=0, ge=0)
    by_field: dict[str, int]
    report_key: str


class Transformed(Extracted):
    """Transformer output = loader input: the extractor's fields plus the canonical pages.

    `retried_key` names the raw copies of records retried from the client's
    retry state (runtime/carryover.py), `skipped_key` the records a `skip when`
    rule left out (not failures), `mapping_sha256` the mapping module the
    records went through, `bundle_sha256` the bundle version it came from
    (the client's pin, else the current one: contract/versions.py).
    """

    canonical_pages: list[str]
    rejected_count: int = Field(ge=0)
    rejected_key: str
    transformation_timestamp: str
    validation_errors: ValidationSummary
    retried_key: str | None = None
    retried_count: int = Field(default=0, ge=0)
    skipped_count: int = Field(default=0, ge=0)
    skipped_key: str | None = None
    mapping_sha256: str | None = None
    bundle_sha256: str | None = None


class StepError(BaseModel):
    """A Catch's `$.error`: the error name and its cause, as Step Functions writes them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    Error: str = ""
    Cause: str = ""


class FinishRequest(Extracted):
    """The run's finish step (loader, mode `finish`) after the pages' Map state.

    With `error` (the Map state stopped on it) the step only gathers the
    pages' reports into the run's failed-records report; the workflow then
    alerts and records the failure.
    """

    error: StepError | None = None


def _checked(check: Any, value: Any) -> Any:
    """Run a runtime check inside a pydantic validator (its error becomes the field's error)."""
    try:
        return check(value)
    except InvalidEvent as exc:
        raise ValueError(str(exc)) from None


def parse_event(model: type[E], event: Any, handler: str) -> E:
    """The event as `model`; InvalidEvent naming every bad field otherwise."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"{handler} event must be a JSON object, not {type(event).__name__}")
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc, f"{handler} event")) from None
