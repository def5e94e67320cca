"""What loading a batch produced: which records reached the product, which did not and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Stage = Literal["mapping", "product"]
STORED_STATUSES = frozenset({"created", "updated", "unchanged"})
ITEM_STATUSES = frozenset({*STORED_STATUSES, "error"})


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """One record that did not reach the product, with the reason to show and to replay by.

    `retryable` is true when sending it again as it is may succeed (the product
    gave no verdict); false when the record itself must change.
    """

    id: str
    reason: str
    stage: Stage = "product"
    retryable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The failed-records.ndjson line: id, stage, reason, retryable."""
        return {
            "id": self.id,
            "stage": self.stage,
            "reason": self.reason,
            "retryable": self.retryable,
        }


@dataclass(slots=True)
class BatchResult:
    """Every record of a batch ends in exactly one of `succeeded` or `failed`.

    `statuses` says, for each record that succeeded, what the product did with
    it: created, updated or unchanged.
    """

    succeeded: list[str] = field(default_factory=list)
    failed: list[FailedRecord] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)

    @property
    def records_processed(self) -> int:
        """How many records this result accounts for."""
        return len(self.succeeded) + len(self.failed)

    def succeed(self, record_id: str, status: str) -> None:
        """Record that the product stored `record_id` (created, updated or unchanged)."""
        self.succeeded.append(record_id)
        self.statuses[record_id] = status

    def fail(self, record_id: str, reason: str, *, retryable: bool = False) -> None:
        """Record that `record_id` did not reach the product, and why."""
        self.failed.append(FailedRecord(record_id, reason, "product", retryable))

    def extend(self, other: BatchResult) -> None:
        """Add another batch's outcome to this one."""
        self.succeeded.extend(other.succeeded)
        self.failed.extend(other.failed)
        self.statuses.update(other.statuses)


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """The product's verdict on one item of a bulk call."""

    id: str
    status: str
    error: str | None = None
    retryable: bool = False

    @property
    def stored(self) -> bool:
        """True when the product holds the item now (created, updated or unchanged)."""
        return self.status in STORED_STATUSES
