"""A pasted key with a trailing newline: refused at `client add`, and a named failure when read.

The key is a canary. Whether it comes through `siesa client add` or is put
straight into Secrets Manager (boto3 against the embedded AWS, bypassing
every check of ours), it must never show in a log line (any logger, any
library), an EMF record, the SNS alert, the execution history, the run
history or anything the CLI prints.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.app import app
from runtime import secrets

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from e2e_support import E2eEngine, kong_client, worlds

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def _write(folder: Path, name: str, document: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_key_with_a_newline_is_refused_at_add_and_fails_the_run_by_name_leaking_nothing(
    engine: E2eEngine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"sk-live-canary-{uuid.uuid4().hex}"
    pasted = canary + "\n"
    seen: list[str] = []
    runner = CliRunner()
    endpoint = ["--endpoint-url", engine.aws.url]

    with worlds(kong_client("canary-kong")) as running:
        world = running["canary-kong"]
        config = _write(tmp_path, "client.json", world.config_document())
        product = _write(tmp_path, "kong.json", world.product_credentials())
        bad_siesa = _write(tmp_path, "siesa.json", {**world.siesa_credentials(), "api_key": pasted})

        # 1. `siesa client add` refuses the key by name, and writes nothing
        added = runner.invoke(
            app,
            [
                *("client", "add", "--config", str(config)),
                *("--siesa-credentials", str(bad_siesa), "--product-credentials", str(product)),
                *endpoint,
            ],
        )
        seen += [added.stdout, added.stderr]
        assert added.exit_code == 1
        assert "key 'api_key'" in added.stderr and "whitespace" in added.stderr
        listed = engine.deployment.client("secretsmanager").list_secrets()["SecretList"]
        assert not any("canary-kong" in entry["Name"] for entry in listed)

        # 2. a good client, whose Siesa secret is then replaced directly in Secrets Manager
        engine.add(world)
        name = "siesa-integration/canary-kong/siesa"
        engine.deployment.client("secretsmanager").put_secret_value(
            SecretId=name, SecretString=json.dumps({**world.siesa_credentials(), "api_key": pasted})
        )
        secrets.clear_cache()
        synced = runner.invoke(
            app, ["sync", "--client", "canary-kong", "--sync-type", "initial", "--wait", *endpoint]
        )
        status = runner.invoke(app, ["status", "--client", "canary-kong", "--json", *endpoint])
        seen += [synced.stdout, synced.stderr, status.stdout, status.stderr]

    # the run failed with a named error that names the key
    assert synced.exit_code == 1, synced.stdout + synced.stderr
    stepfunctions = engine.deployment.client("stepfunctions")
    (execution,) = [
        entry
        for entry in stepfunctions.list_executions(
            stateMachineArn=engine.provisioned.state_machine_arn
        )["executions"]
        if entry["status"] == "FAILED"
    ]
    described = stepfunctions.describe_execution(executionArn=execution["executionArn"])
    assert described["error"] == "InvalidSecret"
    assert "key 'api_key'" in described["cause"]
    history = stepfunctions.get_execution_history(
        executionArn=execution["executionArn"], maxResults=1000
    )
    alerts = engine.alerts()
    assert len(alerts) == 1 and "Error: InvalidSecret" in alerts[0]["Message"]
    dynamodb = engine.deployment.client("dynamodb")
    stored = [
        dynamodb.scan(TableName=engine.provisioned.outputs[table])["Items"]
        for table in ("ClientsTableName", "RunsTableName")
    ]

    captured = capsys.readouterr()
    seen += [captured.out, captured.err, caplog.text]
    seen += [str(record.__dict__) for record in caplog.records]
    seen.append(json.dumps([described, history["events"], alerts, stored], default=str))
    everything = "\n".join(seen)
    assert '"_aws"' in everything  # EMF records were captured
    assert "InvalidSecret" in everything
    for form in (canary, json.dumps(pasted)[1:-1]):
        assert form not in everything
