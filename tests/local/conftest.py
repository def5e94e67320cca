"""The embedded AWS provisioned from infra/, with scripted Lambda handlers, one per test module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.local.aws import LocalAws
from runtime.local.provision import provision

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from local_engine_helpers import (
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
        sqs = aws.client("sqs")
        queue_url = sqs.create_queue(QueueName="siesa-integration-alerts-capture")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        aws.client("sns").subscribe(
            TopicArn=result.outputs["AlertsTopicArn"], Protocol="sqs", Endpoint=queue_arn
        )
        yield Engine(aws, result, extractor, transformer, loader, queue_url)


@pytest.fixture
def workflow(engine: Engine) -> Iterator[Engine]:
    """The module's engine with default handler behaviour and no pending alerts."""
    for scripted in (engine.extractor, engine.transformer, engine.loader):
        scripted.reset()
    engine.alerts()
    yield engine
