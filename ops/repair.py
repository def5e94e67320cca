"""What repairs what `siesa reconcile` found: the command to run next, one line each.

Pure: a reconciliation report comes in, next-step lines come out. Records a
failed run did not deliver (and nothing else) are repaired by replaying that
run (`siesa replay`, it sends them again); any other record that is lost or
holds other values than the mapping gives, by an initial sync (it sends
every record as the mapping says and reports the ones it rejects). What no
sync repairs (a record the product holds that no ERP record maps to, one it
holds twice, two ERP records that become one) is said in words.
"""

from __future__ import annotations

from ops.catalog_differences import LOST_KINDS, ReconcileReport

RESENT_KINDS = (*LOST_KINDS, "wrong_values")
"""Differences a sync repairs by sending the record again."""
REPLAYABLE_KINDS = ("missing", "loaded_but_absent")
"""Lost records a replay of the run that did not deliver them sends again."""


def next_steps(report: ReconcileReport) -> list[str]:
    """The commands (first) and advice that repair the report's differences; [] when none."""
    client = report.client_id
    resent = [d for d in report.differences if d.kind in RESENT_KINDS]
    steps: list[str] = []
    runs = {d.run_id for d in resent}
    replayable = all(d.kind in REPLAYABLE_KINDS for d in resent)
    if resent and replayable and len(runs) == 1 and runs <= set(report.unfinished_runs):
        steps.append(f"siesa replay --client {client} --run {runs.pop()}")
    elif resent or (report.watermark is None and report.unfinished_runs):
        steps.append(f"siesa sync --client {client} --sync-type initial --wait")
    if report.count("orphan", "held_twice"):
        steps.append(
            "records the product holds twice or that no ERP record maps to are not repaired by "
            "a sync: remove them in the product (their ids are listed above)"
        )
    if any(d.kind == "duplicate" and d.run_id is None for d in report.differences):
        steps.append(
            "ERP records that become one product record: change the mapping's id rule, "
            "then run an initial sync"
        )
    return steps
