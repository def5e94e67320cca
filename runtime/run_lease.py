"""One run per client at a time: a lease on the client's item, taken by the extractor, released by the workflow.

The lease is three attributes of the client's item in the clients table
(`lease_execution`, the execution ARN that holds it; `lease_run_id`;
`lease_expires_at`, epoch seconds) plus `lease_skips`, the scheduled starts
skipped since the lease was last taken. On the item, not an item of its own:
the tenant roles already reach only their own client's item
(`dynamodb:LeadingKeys`) and only the attributes named in their policy
(`dynamodb:Attributes`); the extractor's tenant role is given these four.
Every write here is conditional, so two starts can never both hold it.

- `take`: the extractor's first step. Free, expired, or already ours (the
  workflow's retry of the extractor): taken. Held by another execution:
  the holder is returned, and the caller asks Step Functions whether it
  still runs (`take_over` once it has ended: aborted, timed out, stopped
  without its Catch running).
- The workflow releases it at its end, success or failure (ReleaseLease and
  ReleaseLeaseAfterFailure in infra/statemachine.asl.json), only if it is
  still its own. An execution that ended without reaching those states
  leaves the lease until it is seen to have ended or it expires:
  `LEASE_SECONDS` is the workflow's own time limit, so no execution that
  took it can still run when it expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runtime.config import validate_client_id
from runtime.config_store import LEASE_ATTRIBUTES, from_item

LEASE_SECONDS = 7200
"""The workflow's TimeoutSeconds (infra/statemachine.asl.json): no holder outlives its lease."""
RUNNING = "RUNNING"
ENDED_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
MAX_TURNS = 3
"""Times `acquire` re-reads a lease that changed between its read and its write."""


@dataclass(frozen=True)
class Holder:
    """Who holds a client's lease."""

    execution_arn: str
    run_id: str | None
    expires_at: float
    skips: int = 0

    def describe(self, client_id: str) -> str:
        """One line naming the running run, for a refusal or a skip."""
        run = f"run {self.run_id}" if self.run_id else "a run"
        return f"{run} of {client_id} is still running (execution {self.execution_arn})"


@dataclass(frozen=True)
class Acquired:
    """What `acquire` did: took the lease (`holder` None), or found a live holder."""

    holder: Holder | None = None
    took_over: Holder | None = None
    """The holder whose execution had ended (or whose lease expired), when the lease was taken over."""
    ended_status: str | None = None

    @property
    def taken(self) -> bool:
        """The lease is this execution's now."""
        return self.holder is None


ExecutionStatus = Callable[[str], "str | None"]
"""An execution's status (RUNNING, SUCCEEDED, ...), or None when Step Functions has no such execution."""


class RunLease:
    """The run lease on the clients table, written through the caller's (tenant) client."""

    def __init__(
        self, table_name: str, *, dynamodb: Any, now: Callable[[], float] = time.time
    ) -> None:
        self.table_name = table_name
        self.dynamodb = dynamodb
        self.now = now

    def _key(self, client_id: str) -> dict[str, Any]:
        return {"client_id": {"S": validate_client_id(client_id)}}

    def holder(self, client_id: str) -> Holder | None:
        """The lease's holder, or None when nobody holds it."""
        item = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=self._key(client_id),
            ConsistentRead=True,
            ProjectionExpression=", ".join(LEASE_ATTRIBUTES),
        ).get("Item")
        values = from_item(item) if item else {}
        if not values.get("lease_execution"):
            return None
        return Holder(
            execution_arn=str(values["lease_execution"]),
            run_id=values.get("lease_run_id"),
            expires_at=float(values.get("lease_expires_at") or 0),
            skips=int(values.get("lease_skips") or 0),
        )

    def take(
        self, client_id: str, execution_arn: str, run_id: str, *, replacing: str | None = None
    ) -> bool:
        """Take the lease: free, expired or already ours (or `replacing`'s); False when another holds it."""
        now = self.now()
        condition = (
            "attribute_exists(client_id) AND (attribute_not_exists(lease_execution) "
            "OR lease_execution = :me OR lease_expires_at < :now"
            + (" OR lease_execution = :old)" if replacing else ")")
        )
        values = {
            ":me": {"S": execution_arn},
            ":run": {"S": run_id},
            ":expires": {"N": str(int(now + LEASE_SECONDS))},
            ":now": {"N": str(int(now))},
        }
        if replacing:
            values[":old"] = {"S": replacing}
        return self._update(
            client_id,
            "SET lease_execution = :me, lease_run_id = :run, lease_expires_at = :expires "
            "REMOVE lease_skips",
            condition,
            values,
        )

    def note_skip(self, client_id: str, holder: Holder) -> int:
        """Count one more scheduled start skipped while `holder` runs; the count, 0 if it changed hands."""
        counted = self._update(
            client_id,
            "SET lease_skips = if_not_exists(lease_skips, :zero) + :one",
            "lease_execution = :holder",
            {":zero": {"N": "0"}, ":one": {"N": "1"}, ":holder": {"S": holder.execution_arn}},
        )
        if not counted:
            return 0
        now_held = self.holder(client_id)
        return now_held.skips if now_held is not None else 0

    def acquire(
        self, client_id: str, execution_arn: str, run_id: str, status_of: ExecutionStatus
    ) -> Acquired:
        """Take the lease, taking it over from an execution that has ended; else name the live holder."""
        replacing: Holder | None = None
        ended: str | None = None
        for _ in range(MAX_TURNS):
            old = replacing.execution_arn if replacing else None
            if self.take(client_id, execution_arn, run_id, replacing=old):
                return Acquired(took_over=replacing, ended_status=ended)
            holder = self.holder(client_id)
            if holder is None:
                replacing = None
                continue  # released between our write and our read
            status = status_of(holder.execution_arn)
            if status == RUNNING and holder.expires_at >= self.now():
                return Acquired(holder=holder)
            replacing, ended = holder, status or "gone"
        holder = self.holder(client_id)
        return Acquired(holder=holder) if holder is not None else Acquired()

    def _update(
        self, client_id: str, expression: str, condition: str, values: dict[str, Any]
    ) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(client_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
