"""The extractor's first step: take the client's run lease, or say which run holds it and skip.

One run per client at a time (runtime/run_lease.py). A start that finds
another execution of the client running does not run: it is recorded in
run history as `skipped` with the reason (the running run's id), and the
extractor returns `Skipped` instead of the claim-check, which ends the
workflow without touching the lease. A scheduled start (no `run_id` in
its input) also counts the skip on the lease; the second in a row, and
every one after, carries an alert the workflow publishes. A manual start
that lost the race to another (`siesa sync` checks first) is refused the
same way; `siesa sync` reports the running run's id.

A lease whose execution has ended without the workflow's release (stopped,
timed out) is taken over, and that execution's run, if still `running` in
run history, is ended as failed: nothing else would ever end it.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from runtime.handlers.deps import Deps
from runtime.handlers.events import ExtractRequest, SkipAlert, Skipped, SkipReport
from runtime.observability import logger
from runtime.run_lease import Acquired, Holder, RunLease

ALERT_FROM_SKIPS = 2
"""Scheduled starts skipped in a row before each further skip alerts."""


def take_lease(
    request: ExtractRequest, deps: Deps, *, run_id: str, started_at: str
) -> Skipped | None:
    """Hold the client's lease for this execution; `Skipped` when another execution runs."""
    if request.lease is None:
        logger.info("no execution named in the event: no run lease taken")
        return None
    client_id = request.client_id
    lease = RunLease(
        deps.configs.table_name,
        dynamodb=deps.configs.dynamodb,
        now=lambda: deps.clock().timestamp(),
    )
    acquired = lease.acquire(client_id, request.lease.execution_arn, run_id, deps.execution_status)
    holder = acquired.holder
    if holder is None:
        _end_abandoned_run(deps, client_id, run_id, acquired)
        return None
    return _skip(request, deps, lease, holder, run_id=run_id, started_at=started_at)


def _end_abandoned_run(deps: Deps, client_id: str, run_id: str, acquired: Acquired) -> None:
    """A lease taken over: say so, and end the old run if its execution left it `running`."""
    old = acquired.took_over
    if old is None:
        return
    logger.warning(
        "run lease taken over from an execution that ended without releasing it",
        extra={
            "metadata": {
                "previous_run_id": old.run_id,
                "previous_execution": old.execution_arn,
                "previous_status": acquired.ended_status,
            }
        },
    )
    if not old.run_id or old.run_id == run_id:
        return
    reason = (
        f"its execution ended ({acquired.ended_status}) without recording an outcome; "
        f"run {run_id} took over the client's run lease"
    )
    try:
        deps.history.fail(client_id, old.run_id, error=reason, finished_at=deps.now_iso())
    except Exception:
        logger.exception("could not end the abandoned run in run history")


def _skip(
    request: ExtractRequest,
    deps: Deps,
    lease: RunLease,
    holder: Holder,
    *,
    run_id: str,
    started_at: str,
) -> Skipped:
    client_id = request.client_id
    scheduled = request.run_id is None
    in_a_row = lease.note_skip(client_id, holder) if scheduled else 0
    reason = "skipped: " + holder.describe(client_id)
    logger.warning(reason, extra={"metadata": {"scheduled": scheduled, "in_a_row": in_a_row}})
    try:
        deps.history.skipped(
            client_id,
            run_id,
            sync_type=request.sync_type,
            at=started_at,
            reason=reason,
            running_run_id=holder.run_id,
            trigger="schedule" if scheduled else "manual",
        )
    except ClientError:
        logger.exception("could not record the skipped start in run history")
    alert = _alert(client_id, holder, in_a_row) if in_a_row >= ALERT_FROM_SKIPS else None
    return Skipped(
        client_id=client_id,
        sync_type=request.sync_type,
        run_id=run_id,
        skipped=SkipReport(
            reason=reason,
            running_run_id=holder.run_id,
            running_execution=holder.execution_arn,
            scheduled=scheduled,
            in_a_row=in_a_row,
            alert=alert,
        ),
    )


def _alert(client_id: str, holder: Holder, in_a_row: int) -> SkipAlert:
    return SkipAlert(
        subject=f"Siesa integration: scheduled syncs of {client_id} skipped {in_a_row} times",
        message=(
            f"The scheduled syncs of client {client_id} were skipped {in_a_row} times in a row: "
            f"{holder.describe(client_id)}. A run that long may be stuck: see "
            f"`siesa status --client {client_id}`; once its execution is stopped, the next "
            "start takes the client's run lease over."
        ),
    )
