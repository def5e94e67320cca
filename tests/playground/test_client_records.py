"""`siesa map serve --client ID`: the records of the client's last finished run, read from moto's server.

The run history and the extracted pages are written by the runtime's own
RunHistory and RunStore to moto's server on loopback, as a sync on the local
engine leaves them; the playground reads them through boto3 like any operator
command (ops/run_records.py) and maps them as they are typed against.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from playground_support import MAPPING, post_source, serving, write_mapping
from typer.testing import CliRunner

from cli.app import app
from cli.serve import _samples
from ops.run_records import last_run_records
from runtime import settings
from runtime.runstore import RunStore, page_key
from runtime.sync_state import RUNS_TABLE_SCHEMA, RunHistory

CLIENT = "cliente-pg"
OLD, FINISHED, FAILED, RUNNING = (
    "20260101T100000Z-000aaa",
    "20260102T100000Z-000bbb",
    "20260103T100000Z-000ccc",
    "20260104T100000Z-000ddd",
)


def _record(code: str, quantity: int) -> dict[str, Any]:
    return {
        "f_codigo": code,
        "f_codigo_externo": f"SIESA-{code}",
        "f_nombre": "Camisa",
        "f_cantidad": quantity,
    }


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1 with the runs table and the config bucket, and four runs."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        _, port = server.get_host_and_port()
        url = f"http://127.0.0.1:{port}"
        with pytest.MonkeyPatch.context() as patch:
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                patch.setenv(name, "local")
            patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
            patch.setenv("SIESA_STACK_NAME", "no-such-stack")
            # names of this fixture's own: moto's backends are the process's, kept across servers
            suffix = secrets.token_hex(4)
            patch.setenv(settings.RUNS_TABLE_ENV, f"runs-{suffix}")
            patch.setenv(settings.CONFIG_BUCKET_ENV, f"config-{suffix}")
            _seed(url)
            yield url
    finally:
        server.stop()


def _seed(url: str) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    dynamodb.create_table(TableName=settings.runs_table(), **RUNS_TABLE_SCHEMA)
    s3.create_bucket(Bucket=settings.config_bucket())
    history = RunHistory(dynamodb=dynamodb)
    store = RunStore(s3=s3)
    pages = {
        OLD: [[_record("OLD1", 1)]],
        FINISHED: [[_record("A1", 5), _record("A2", -1)], [_record("A3", 7)]],
        FAILED: [[_record("F1", 1)]],
        RUNNING: [[_record("R1", 1)]],
    }
    ends = {OLD: "success", FINISHED: "partial", FAILED: "failed", RUNNING: None}
    for run_id, run_pages in pages.items():
        history.start(CLIENT, run_id, sync_type="initial", started_at="2026-01-01T10:00:00Z")
        for number, records in enumerate(run_pages, start=1):
            store.write_page(page_key(CLIENT, run_id, "extracted", number), records)
        status = ends[run_id]
        if status is not None:
            history.finish(CLIENT, run_id, status=status, finished_at="2026-01-05T10:00:00Z")


def test_the_newest_finished_run_is_read_page_by_page(endpoint: str) -> None:
    from ops.deployment import Deployment

    run = last_run_records(CLIENT, limit=10, deployment=Deployment(endpoint))
    assert run.run_id == FINISHED
    assert [where for where, _ in run.records] == [
        "page-00001.ndjson:1",
        "page-00001.ndjson:2",
        "page-00002.ndjson:1",
    ]
    assert [record["f_codigo"] for _, record in run.records] == ["A1", "A2", "A3"]
    assert not run.more
    cut = last_run_records(CLIENT, limit=2, deployment=Deployment(endpoint))
    assert len(cut.records) == 2 and cut.more


def test_the_page_maps_the_runs_records(endpoint: str, tmp_path: Path) -> None:
    path = write_mapping(tmp_path)
    samples = _samples(str(path), None, CLIENT, endpoint)
    assert samples.description == f"run {FINISHED} of {CLIENT}, extracted: 3 record(s)"
    with serving(path, samples=samples) as server:
        answer = post_source(server.server_port, MAPPING)
    assert answer.status == 200
    result = answer.body
    assert result["summary"] == "2 record(s) mapped, 1 rejected, 0 skipped"
    assert [(output["where"], output["id"]) for output in result["outputs"]] == [
        (f"{FINISHED}/page-00001.ndjson:1", "A1"),
        (f"{FINISHED}/page-00002.ndjson:1", "A3"),
    ]
    assert json.loads(result["outputs"][1]["product"])["quantity"] == 7
    assert result["rejected"] == [
        f"{FINISHED}/page-00001.ndjson:2: record 'A2' rejected: error: stock_quantity (line 9): "
        "must be >= 0 (value -1, action reject)"
    ]


def test_a_client_without_a_finished_run_is_one_line_error(endpoint: str, tmp_path: Path) -> None:
    path = write_mapping(tmp_path)
    result = CliRunner().invoke(
        app, ["map", "serve", str(path), "--client", "nadie", "--endpoint-url", endpoint]
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: client nadie has no finished run (success or partial) at {endpoint}; "
        "run `siesa sync --client nadie --wait` first"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--write"], "error: --write saves to FILE: name the .map file to edit"),
        (
            ["{file}", "--records", "r.jsonl", "--client", "x"],
            "error: give --records or --client, not both",
        ),
        (
            ["{file}", "--records", "{missing}"],
            "error: cannot read {missing}: [Errno 2] No such file or directory: '{missing}'",
        ),
        (["{missing}.map"], "error: {missing}.map: No such file or directory"),
    ],
)
def test_mistakes_on_the_command_line_are_one_line_errors(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    path = write_mapping(tmp_path)
    missing = str(tmp_path / "missing")
    shown = [argument.format(file=path, missing=missing) for argument in arguments]
    result = CliRunner().invoke(app, ["map", "serve", *shown])
    assert result.exit_code == 1
    assert result.stderr.strip() == message.format(missing=missing)
