"""The operator's walkthrough of issue 15: each trouble is diagnosed by one command.

A wrong product key, a product that is down (and comes back empty), bad
data, a disabled client: for each, the one command an operator runs first
(`siesa sync --wait`, `siesa reconcile`) says what went wrong and ends with
the next step, in text and under `--json`, and never shows a secret value.
One engine for the module (tests/reliability/conftest.py: retry waits are
recorded, not slept), tiny catalogs.
"""

from __future__ import annotations

import json
from typing import Any

from e2e_support import kong_client, worlds
from harness import ReliabilityEngine, calm, product_injectors
from typer.testing import CliRunner

import ops
from cli.app import app
from local.demo_world import ClientWorld

RECORDS = 20


def siesa(engine: ReliabilityEngine, *args: str) -> Any:
    """`siesa ARGS --endpoint-url ...` in process against the module's embedded AWS."""
    return CliRunner().invoke(app, [*args, "--endpoint-url", engine.aws.url])


def assert_no_secret(world: ClientWorld, *texts: str) -> None:
    for value in world.secret_values:
        assert all(value not in text for text in texts)


def last_line(text: str) -> str:
    """The last line (in process, the handlers' JSON log lines share stdout: they come first)."""
    return text.rstrip().splitlines()[-1]


def test_a_wrong_product_key_names_the_secret_and_the_command_that_replaces_it(
    engine: ReliabilityEngine,
) -> None:
    spec = kong_client("wt-key", seed=51)
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        wrong = {**world.product_credentials(), "api_key": "not-the-key-0123456789"}
        ops.add_client(
            world.config_document(),
            world.siesa_credentials(),
            wrong,
            deployment=engine.deployment,
        )
        result = siesa(
            engine,
            "sync",
            "--client",
            world.client_id,
            "--sync-type",
            "initial",
            "--wait",
            "--json",
        )
        assert result.exit_code == 1, result.output
        document = json.loads(last_line(result.stdout))
        assert document["schema_version"] == 1 and document["status"] == "failed"
        assert document["error"] == "ProductAuthError", document
        assert "401" in document["cause"]
        assert document["next_step"] == (
            "the credentials in secret siesa-integration/wt-key/kong were refused; "
            "replace them: siesa client set-credentials wt-key --product FILE"
        )
        assert_no_secret(world, result.output)
        assert "not-the-key-0123456789" not in result.output


def test_a_product_that_is_down_and_comes_back_empty(engine: ReliabilityEngine) -> None:
    spec = kong_client("wt-down", seed=52)
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        engine.add(world)
        first = engine.sync(world.client_id, "initial")
        assert first.status in ("success", "partial"), first.error
        delivered = set(world.held())

        for injector in product_injectors(world):
            injector.set(down_after=0)
        down = siesa(
            engine, "sync", "--client", world.client_id, "--sync-type", "initial", "--wait"
        )
        assert down.exit_code == 1, down.output
        # progress during the retries says why they fail, not only how many did
        assert "attempt(s) failed; last: ProductUnavailable: Kong POST" in down.stderr
        assert "answered 503" in down.stderr
        assert "ProductUnavailable" in down.stdout
        assert last_line(down.stdout) == (
            "next step: the product kept failing through the retries (the cause says how); once "
            "it answers, siesa sync --client wt-down --sync-type initial --wait"
        )

        calm(world)
        world.live_store().clear()  # the product comes back, empty
        reconciled = siesa(engine, "reconcile", "--client", world.client_id, "--json")
        assert reconciled.exit_code == 1, reconciled.output
        document = json.loads(reconciled.stdout)
        assert document["schema_version"] == 1 and document["ok"] is False
        assert {d["record_id"] for d in document["differences"]} == delivered
        (step,) = document["next_steps"]
        assert step.startswith(f"siesa replay --client {world.client_id} --run ")
        assert_no_secret(world, down.output, reconciled.output)


def test_bad_data_is_listed_by_the_sync_with_the_step_that_resends_it(
    engine: ReliabilityEngine,
) -> None:
    spec = kong_client("wt-data", seed=53)
    with worlds(spec, products=100) as running:  # 2% invalid: two records Kong cannot take
        world = running[spec.client_id]
        engine.add(world)
        result = siesa(
            engine, "sync", "--client", world.client_id, "--sync-type", "initial", "--wait"
        )
        assert result.exit_code == 3, result.output
        invalid = [code.strip() for code, kind in world.catalog.invalid.items()]
        assert invalid and all(code in result.stdout for code in invalid)
        step = last_line(result.stdout)
        assert step.startswith("next step: fix the failed records in the ERP or the mapping")
        assert f"siesa replay --client {world.client_id} --run " in step
        assert_no_secret(world, result.output)


def test_a_disabled_client_says_how_to_enable_it_in_text_and_json(
    engine: ReliabilityEngine,
) -> None:
    spec = kong_client("wt-off", seed=54)
    with worlds(spec, products=RECORDS) as running:
        engine.add(running[spec.client_id], enabled=False)
    text = siesa(engine, "sync", "--client", "wt-off")
    assert text.exit_code == 1 and text.stdout == ""
    assert text.stderr.splitlines() == [
        "error: client wt-off is disabled; enable it first (`siesa client enable wt-off`)",
        "next step: siesa client enable wt-off",
    ]
    as_json = siesa(engine, "sync", "--client", "wt-off", "--json")
    assert as_json.exit_code == 1 and as_json.stderr == ""
    assert json.loads(as_json.stdout) == {
        "schema_version": 1,
        "error": {
            "type": "ClientIsDisabled",
            "message": "client wt-off is disabled; enable it first (`siesa client enable wt-off`)",
            "exit_code": 1,
            "next_step": "siesa client enable wt-off",
        },
    }
    status = siesa(engine, "status", "--client", "wt-off", "--json")
    assert status.exit_code == 0
    (client,) = json.loads(status.stdout)["clients"]
    assert client["enabled"] is False
