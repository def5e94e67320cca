"""The embedded AWS keeps DynamoDB's conditional writes atomic under concurrent requests.

moto alone let two racing conditional writes both succeed now and then (the run
lease's race in tests/reliability/test_one_run_per_client.py caught it about one
run in six); local/moto_writes.py makes moto's DynamoDB writes one step.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError

from local.embedded_aws import LocalAws

RACERS = 8


def race(dynamodb: Any, key: dict[str, Any]) -> list[int]:
    """RACERS conditional writes on one item released together; the racers whose write succeeded."""
    barrier = threading.Barrier(RACERS)
    won: list[int] = []

    def take(racer: int) -> None:
        barrier.wait()
        try:
            dynamodb.update_item(
                TableName="race",
                Key=key,
                UpdateExpression="SET holder = :me",
                ConditionExpression="attribute_not_exists(holder)",
                ExpressionAttributeValues={":me": {"N": str(racer)}},
            )
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
        else:
            won.append(racer)

    threads = [threading.Thread(target=take, args=(racer,)) for racer in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return won


def test_of_racing_conditional_writes_exactly_one_wins() -> None:
    with LocalAws(0) as aws:
        dynamodb = aws.client("dynamodb")
        dynamodb.create_table(
            TableName="race",
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for round_ in range(10):
            key = {"k": {"S": f"item-{round_}"}}
            dynamodb.put_item(TableName="race", Item=key)
            won = race(dynamodb, key)
            assert len(won) == 1, won
            item = dynamodb.get_item(TableName="race", Key=key, ConsistentRead=True)["Item"]
            assert item["holder"] == {"N": str(won[0])}
