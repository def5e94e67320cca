"""The embedded AWS provisioned from infra/, with scripted Lambda handlers, one per test module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.embedded_aws import LocalAws
from local.provision import provision

HERE = Path(__file__).parent
for folder in (HERE, HERE.parent / "e2e"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
from alert_queue import subscribe_queue  # noqa: E402
from local_engine_helpers import (  # noqa: E402
    EXTRACTOR,
    LOADER,
    TRANSFORMER,
    Engine,
    Scripted,
    extracted,
    summary,
    transformed,
)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """One embedded AWS per test module: starting and provisioning costs a few seconds."""
    extractor = Scripted(EXTRACTOR, lambda event, attempt: extracted(event))
    transformer = Scripted(TRANSFORMER, lambda event, attempt: transformed(event))
    loader = Scripted(LOADER, lambda event, attempt: summary(event))
    handlers = {EXTRACTOR: extractor, TRANSFORMER: transformer, LOADER: loader}
    with LocalAws(handlers=handlers) as aws:
        result = provision(aws, mappings_dir=None)
        queue_url = subscribe_queue(
            aws, result.outputs["AlertsTopicArn"], "siesa-integration-alerts-capture"
        )
        yield Engine(aws, result, extractor, transformer, loader, queue_url)


@pytest.fixture
def workflow(engine: Engine) -> Iterator[Engine]:
    """The module's engine with default handler behaviour and no pending alerts."""
    for scripted in (engine.extractor, engine.transformer, engine.loader):
        scripted.reset()
    engine.alerts()
    yield engine
