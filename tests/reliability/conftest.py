"""The reliability suite: the embedded AWS running the real workflow, one per test module.

With SIESA_RELIABILITY_REPORT=docs/reliability.md the scenarios' rows are
collected (from every xdist worker) and the matrix in that file is rewritten
when the session ends.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import ops
from local.embedded_aws import LocalAws
from local.provision import provision

HERE = Path(__file__).parent
for folder in (HERE, HERE.parent / "e2e"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
from alert_queue import subscribe_queue  # noqa: E402
from e2e_support import reset_runtime_caches  # noqa: E402
from harness import (  # noqa: E402
    Injections,
    ReliabilityEngine,
    WaitLog,
    handlers,
    workflow_waits_recorded,
)
from matrix import REPORT_ENV, ROWS_ENV, read_rows, totals, write_report  # noqa: E402

from runtime import settings  # noqa: E402

BUDGET_WINDOW_SECONDS = "6"
"""The window of the clients' per-minute request budgets (60 s on AWS): a tenth, so a budget
spent by retries (an ERP outage: every attempt of every retry takes a request) is earned back
in a tenth of the time. No scenario here is about the budget's pace: tests/runtime/test_budgets.py
and tests/local/test_shared_budgets.py check it, and test_many_clients injects its own."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here starts the embedded AWS or the simulators: end-to-end."""
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def pytest_configure(config: pytest.Config) -> None:
    """When a report is asked for, give every worker one folder for its rows."""
    if os.environ.get(REPORT_ENV) and not os.environ.get(ROWS_ENV):
        os.environ[ROWS_ENV] = tempfile.mkdtemp(prefix="siesa-reliability-rows-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On the controller, write the matrix into the report (only after a green run)."""
    report, rows_dir = os.environ.get(REPORT_ENV), os.environ.get(ROWS_ENV)
    if hasattr(session.config, "workerinput") or not report or not rows_dir:
        return
    if exitstatus != 0:
        return
    rows = read_rows(Path(rows_dir))
    if rows:
        write_report(Path(report), rows, totals(rows))


@pytest.fixture(scope="module")
def engine() -> Iterator[ReliabilityEngine]:
    """The embedded AWS provisioned from infra/, every retry wait recorded, alerts on SQS."""
    reset_runtime_caches()
    waits = WaitLog()
    injections = Injections()
    with (
        pytest.MonkeyPatch.context() as patch,
        workflow_waits_recorded([]) as workflow_waits,
        LocalAws(0, handlers=handlers(waits, injections)) as aws,
    ):
        patch.setenv(settings.RATE_WINDOW_ENV, BUDGET_WINDOW_SECONDS)
        provisioned = provision(aws)
        queue_url = subscribe_queue(
            aws, provisioned.outputs["AlertsTopicArn"], "siesa-integration-alerts-reliability"
        )
        engine = ReliabilityEngine(
            aws, provisioned, ops.Deployment(aws.url), queue_url, waits, injections, workflow_waits
        )
        yield engine
    reset_runtime_caches()
