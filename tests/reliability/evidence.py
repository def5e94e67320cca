"""Everything a run leaves that someone could read, gathered to be searched for secret values.

Log lines and EMF records (the handlers print them on stdout), records the
logging module saw, SNS alerts (an SQS queue subscribed to the topic), the
full Step Functions history and outcome of each execution, exception texts,
the clients and runs tables, and the run data in S3.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterable
from typing import Any

import pytest
from harness import ReliabilityEngine


class Evidence:
    """Texts to search; `leaks` says which secret values appear in any of them."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, value: Any) -> None:
        """One more thing someone could read."""
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        self.texts.append((where, text))

    def add_exception(self, where: str, exc: BaseException) -> None:
        """An exception's message and traceback."""
        self.add(where, "".join(traceback.format_exception(exc)))

    def add_output(
        self, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
    ) -> None:
        """What the handlers printed (JSON logs, EMF) and what the logging module recorded."""
        captured = capsys.readouterr()
        self.add("stdout", captured.out)
        self.add("stderr", captured.err)
        self.add("caplog", caplog.text)
        for record in caplog.records:
            self.add("log record", {key: str(value) for key, value in record.__dict__.items()})

    def add_workflow(
        self,
        engine: ReliabilityEngine,
        alerts: Iterable[dict[str, Any]],
        client_ids: Iterable[str] | None = None,
    ) -> None:
        """The history and outcome of every execution (of these clients), and the alerts."""
        stepfunctions = engine.deployment.client("stepfunctions")
        wanted = None if client_ids is None else tuple(f":{client}-" for client in client_ids)
        for arn in engine.execution_arns():
            if wanted is not None and not any(marker in arn for marker in wanted):
                continue
            paginator = stepfunctions.get_paginator("get_execution_history")
            for page in paginator.paginate(executionArn=arn):
                self.add(f"history {arn}", page.get("events", []))
            self.add(f"execution {arn}", stepfunctions.describe_execution(executionArn=arn))
        for alert in alerts:
            self.add("sns", alert)

    def add_stores(self, engine: ReliabilityEngine, client_ids: Iterable[str]) -> None:
        """The clients and runs tables, and every object of these clients' run data."""
        dynamodb = engine.deployment.client("dynamodb")
        outputs = engine.provisioned.outputs
        for table in (outputs["ClientsTableName"], outputs["RunsTableName"]):
            for page in dynamodb.get_paginator("scan").paginate(TableName=table):
                self.add(f"table {table}", page.get("Items", []))
        s3 = engine.deployment.client("s3")
        bucket = outputs["ConfigBucketName"]
        for client_id in client_ids:
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=f"runs/{client_id}/"
            ):
                for item in page.get("Contents", []):
                    body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                    self.add(f"s3 {item['Key']}", body.decode("utf-8", errors="replace"))

    def leaks(self, secrets: Iterable[str]) -> list[str]:
        """Where each secret value appears, as `secret-prefix in where`."""
        found = []
        for secret in secrets:
            for where, text in self.texts:
                if secret in text:
                    found.append(f"{secret[:4]}... in {where}")
        return found


def assert_no_secret(evidence: Evidence, secrets: Iterable[str]) -> None:
    """Fail, saying where, if any secret value reached anything gathered."""
    wanted = [secret for secret in secrets if secret]
    assert wanted, "no secret values to look for"
    leaks = evidence.leaks(wanted)
    assert not leaks, f"secret values leaked: {leaks[:5]}"
