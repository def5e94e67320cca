"""An SQS queue on the alerts topic, so tests can read what operators would be told.

Shared by the end-to-end, reliability and local-engine tests, which all
provision the real alerts topic in the embedded AWS.
"""

from __future__ import annotations

import json
from typing import Any

from local.embedded_aws import LocalAws


def subscribe_queue(aws: LocalAws, topic_arn: str, name: str) -> str:
    """An SQS queue subscribed to `topic_arn`; returns its URL."""
    sqs = aws.client("sqs")
    queue_url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


def drain_queue(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """The SNS notifications waiting on the queue, deleted as they are read."""
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
