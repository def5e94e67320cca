"""The operator's flow against `siesa local up` running in its own process.

`local up` prints `ready:`; then `client add`, `sync --wait --json` and
`status --json` run against it, the workflow's handlers running inside the
`local up` process and calling the simulators this test starts.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.demo_expect import compile_mappings, expect
from local.demo_world import ClientWorld, DemoClient, running_world
from local.provision import MAPPINGS_DIR
from ops.deployment import Deployment
from ops.run_evidence import newest_finished_run

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from cli_support import REPO, LocalUp, app, runner, siesa_command, siesa_env

CLIENT = DemoClient("cli-kong", "Empresa CLI S.A.", "kong", 21, "rate(2 hours)")
PRODUCTS = 80


@pytest.fixture(scope="module")
def world() -> Iterator[ClientWorld]:
    with running_world([CLIENT], PRODUCTS) as running:
        yield running[CLIENT.client_id]


def write_documents(world: ClientWorld, folder: Path) -> list[str]:
    """client.json, siesa.json and kong.json as an operator writes them; the add options."""
    paths = {
        "--config": folder / "client.json",
        "--siesa-credentials": folder / "siesa.json",
        "--product-credentials": folder / "kong.json",
    }
    # stock syncs read the warehouse the mapping reads (the default would sum every warehouse)
    config = {**world.config_document(), "stock": {"warehouse": "BOD-01"}}
    paths["--config"].write_text(json.dumps(config, indent=2), "utf-8")
    paths["--siesa-credentials"].write_text(json.dumps(world.siesa_credentials()), "utf-8")
    paths["--product-credentials"].write_text(json.dumps(world.product_credentials()), "utf-8")
    return [part for option, path in paths.items() for part in (option, str(path))]


def test_add_sync_and_status_against_local_up(
    local_up: LocalUp, world: ClientWorld, tmp_path: Path
) -> None:
    endpoint = ["--endpoint-url", local_up.url]
    added = runner().invoke(app, ["client", "add", *write_documents(world, tmp_path), *endpoint])
    assert added.exit_code == 0, added.output
    assert "added client cli-kong" in added.stdout
    assert "siesa-integration-cli-kong-schedule (rate(2 hours))" in added.stdout

    listed = subprocess.run(
        siesa_command("client", "list", "--json"),
        cwd=REPO,
        env=siesa_env(AWS_ENDPOINT_URL=local_up.url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    (client,) = json.loads(listed.stdout)["clients"]
    assert client["client_id"] == "cli-kong"
    assert client["schedule"]["input"] == {"client_id": "cli-kong", "sync_type": "incremental"}
    assert world.product_key not in listed.stdout and world.siesa_key not in listed.stdout

    synced = runner().invoke(
        app,
        ["sync", "--client", "cli-kong", "--sync-type", "initial", "--wait", "--json", *endpoint],
    )
    lines = synced.stdout.splitlines()
    assert len(lines) == 1, synced.stdout
    summary = json.loads(lines[0])
    rejected = expect(
        compile_mappings([MAPPINGS_DIR / "kong.map"])["kong"], world.catalog.records()
    )
    assert rejected.rejected, "the seeded catalog has records the mapping rejects"
    assert (summary["status"], summary["execution_status"]) == ("partial", "SUCCEEDED")
    assert synced.exit_code == 3
    assert summary["records_processed"] == PRODUCTS
    assert summary["records_failed"] == len(rejected.rejected)
    assert summary["records_success"] == len(world.held()) == len(rejected.products)
    assert {item["id"] for item in summary["failed_records"]} == set(rejected.rejected)
    assert "cli-kong: partial" in synced.stderr

    status = runner().invoke(app, ["status", "--json", *endpoint])
    assert status.exit_code == 0, status.output
    (entry,) = json.loads(status.stdout)["clients"]
    assert entry["last_sync"]["status"] == "partial"
    assert entry["last_sync"]["records"] == summary["records_success"]
    assert entry["last_sync"]["failures"] == summary["records_failed"]
    assert entry["runs"][0]["run_id"] == summary["run_id"]

    # a stock-only sync: the two items whose stock rose, nothing else; shown apart by status
    changed = world.catalog.change_stock(sorted(rejected.products)[:2])
    stocked = runner().invoke(
        app, ["sync", "--client", "cli-kong", "--sync-type", "stock", "--wait", "--json", *endpoint]
    )
    assert stocked.exit_code == 0, stocked.output
    stock_summary = json.loads(stocked.stdout)
    assert (stock_summary["sync_type"], stock_summary["records_processed"]) == ("stock", 2)
    assert {k: world.held()[k]["quantity"] for k in changed} == {
        k: int(float(v)) for k, v in changed.items()
    }
    after = json.loads(runner().invoke(app, ["status", "--json", *endpoint]).stdout)["clients"][0]
    assert after["last_stock_sync"]["run_id"] == stock_summary["run_id"]
    assert after["last_stock_sync"]["records_changed"] == 2
    assert after["last_sync"]["run_id"] == summary["run_id"]
    assert after["last_sync"]["watermark"] == entry["last_sync"]["watermark"]
    # the stock listing is read in one pass: its dedup index never reached the dedup table
    table = Deployment(local_up.url).client("dynamodb")
    indexed = table.scan(TableName="siesa-integration-dedup", ProjectionExpression="entry")["Items"]
    assert indexed, "the initial run indexed its records in the table"
    assert not [item for item in indexed if stock_summary["run_id"] in str(item)]
    # tools that re-map a run's ERP records pass the stock run over
    newest = newest_finished_run(Deployment(local_up.url), "cli-kong")
    assert newest["run_id"] == summary["run_id"]

    started = runner().invoke(app, ["sync", "--client", "cli-kong", *endpoint])
    assert started.exit_code == 0, started.output
    assert "started the incremental sync of cli-kong" in started.stdout

    table = runner().invoke(app, ["status", "--client", "cli-kong", *endpoint])
    assert table.exit_code == 0, table.output
    assert "Run history" in table.stdout and summary["run_id"] in table.stdout


def test_operator_mistakes_are_one_line_errors(local_up: LocalUp, tmp_path: Path) -> None:
    endpoint = ["--endpoint-url", local_up.url]
    unknown = runner().invoke(app, ["client", "show", "nadie", *endpoint])
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: no client nadie")

    no_sync = runner().invoke(app, ["sync", "--client", "nadie", "--wait", *endpoint])
    assert no_sync.exit_code == 1 and "error: no client nadie" in no_sync.stderr

    broken = tmp_path / "client.json"
    broken.write_text('{"client_id": "x",\n "client_name": }', "utf-8")
    secret = tmp_path / "siesa.json"
    secret.write_text('{"api_key": "s3cr3t-value"}', "utf-8")
    bad_json = runner().invoke(
        app,
        [
            "client",
            "add",
            "--config",
            str(broken),
            "--siesa-credentials",
            str(secret),
            "--product-credentials",
            str(secret),
            *endpoint,
        ],
    )
    assert bad_json.exit_code == 1
    assert "error: client config is not valid JSON: Expecting value at line 2" in bad_json.stderr

    missing = runner().invoke(
        app,
        [
            "client",
            "add",
            "--config",
            str(tmp_path / "nope.json"),
            "--siesa-credentials",
            str(secret),
            "--product-credentials",
            str(secret),
        ],
    )
    assert missing.exit_code == 1
    assert f"error: client config file {tmp_path / 'nope.json'} does not exist" in missing.stderr

    for result in (unknown, no_sync, bad_json, missing):
        assert "Traceback" not in result.output
        assert "s3cr3t-value" not in result.output


def test_nothing_listening_is_said_plainly() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner().invoke(app, ["status", "--endpoint-url", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: nothing is listening at http://127.0.0.1:{port}")
    assert "siesa local up" in result.stderr and "Traceback" not in result.output


def test_local_up_prints_what_another_shell_exports(local_up: LocalUp) -> None:
    assert local_up.process.poll() is None, "still serving while the module runs"
    assert f"export AWS_ENDPOINT_URL={local_up.url}" in local_up.text()
    assert "export SECRETS_KMS_KEY_ARN=arn:aws:kms:" in local_up.text()


def test_managing_a_client_from_the_terminal(local_up: LocalUp, tmp_path: Path) -> None:
    endpoint = ["--endpoint-url", local_up.url]
    spec = DemoClient(
        "cli-wms", "Empresa WMS S.A.", "wms", 22, "rate(4 hours)", split_services=True
    )
    with running_world([spec], 20) as running:
        world = running["cli-wms"]
        folder = tmp_path / "docs"
        folder.mkdir()
        options = write_documents(world, folder)
        added = runner().invoke(app, ["client", "add", *options, *endpoint, "--json"])
        assert added.exit_code == 0, added.output
        secrets = json.loads(added.stdout)["secrets"]
        assert [(item["name"], item["exists"]) for item in secrets] == [
            ("siesa-integration/cli-wms/siesa", True),
            ("siesa-integration/cli-wms/wms", True),
        ]
        # encrypted with the stack's own key, found in its outputs, never the AWS-managed one
        stack = Deployment(local_up.url)
        for item in secrets:
            described = stack.client("secretsmanager").describe_secret(SecretId=item["name"])
            assert described["KmsKeyId"] == stack.outputs()["SecretsKeyArn"]

        shown = runner().invoke(app, ["client", "show", "cli-wms", *endpoint])
        assert shown.exit_code == 0, shown.output
        for text in (
            "siesa-integration-cli-wms-schedule (ENABLED)",
            "rate(4 hours)",
            "siesa-integration/cli-wms/wms: present",
        ):
            assert text in shown.stdout
        assert world.product_key not in shown.stdout

        checked = runner().invoke(app, ["client", "check", "cli-wms", *endpoint])
        assert checked.exit_code == 0, checked.output
        for service in ("wms inventory", "wms warehouse"):
            assert service in checked.stdout

        disabled = runner().invoke(app, ["client", "disable", "cli-wms", *endpoint])
        assert disabled.exit_code == 0 and "disabled client cli-wms" in disabled.stdout
        listed = runner().invoke(app, ["client", "list", *endpoint])
        row = next(line for line in listed.stdout.splitlines() if "cli-wms" in line)
        assert "DISABLED" in row and "rate(4 hours)" in row
        refused = runner().invoke(app, ["sync", "--client", "cli-wms", *endpoint])
        assert refused.exit_code == 1
        assert "error: client cli-wms is disabled" in refused.stderr

        enabled = runner().invoke(app, ["client", "enable", "cli-wms", *endpoint])
        assert enabled.exit_code == 0 and "enabled client cli-wms" in enabled.stdout
        synced = runner().invoke(
            app, ["sync", "--client", "cli-wms", "--sync-type", "initial", "--wait", *endpoint]
        )
        wanted = expect(
            compile_mappings([MAPPINGS_DIR / "wms.map"])["wms"], world.catalog.records()
        )
        assert synced.exit_code == (3 if wanted.rejected else 0), synced.output
        assert set(world.held()) == set(wanted.products)
        assert "Sync of cli-wms" in synced.stdout and "records loaded" in synced.stdout
        services = {entry.service for entry in world.product.log.entries()}
        assert services == {"inventory", "warehouse"}
