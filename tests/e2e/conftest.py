"""The embedded AWS with the real handlers and mappings, one per test module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ops
from local.embedded_aws import LocalAws
from local.provision import provision

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from alert_queue import subscribe_queue
from e2e_support import E2eEngine, reset_runtime_caches


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is end-to-end."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def engine() -> Iterator[E2eEngine]:
    """Starting and provisioning costs a few seconds: once per module."""
    reset_runtime_caches()
    with LocalAws(0) as aws:
        provisioned = provision(aws)
        queue_url = subscribe_queue(
            aws, provisioned.outputs["AlertsTopicArn"], "siesa-integration-alerts-e2e"
        )
        yield E2eEngine(aws, provisioned, ops.Deployment(aws.url), queue_url)
    reset_runtime_caches()
