"""A client's life through the CLI against `siesa local up`: dry runs, the connection check,
new credentials that the very next run uses, schedules (the stock-only one too), removal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from local.demo_world import ClientWorld, DemoClient, running_world
from ops.deployment import Deployment

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from cli_support import LocalUp, app, runner

PRODUCTS = 12


def _documents(world: ClientWorld, folder: Path, **config: Any) -> list[str]:
    folder.mkdir(exist_ok=True)
    files = {
        "--config": ("client.json", {**world.config_document(), **config}),
        "--siesa-credentials": ("siesa.json", world.siesa_credentials()),
        "--product-credentials": ("product.json", world.product_credentials()),
    }
    options = []
    for option, (name, document) in files.items():
        path = folder / name
        path.write_text(json.dumps(document), "utf-8")
        options += [option, str(path)]
    return options


def _rules(stack: Deployment, client_id: str) -> list[str]:
    listed = stack.client("events").list_rules(NamePrefix=f"siesa-integration-{client_id}-")
    return sorted(rule["Name"] for rule in listed["Rules"])


def _live_secrets(stack: Deployment, client_id: str) -> list[str]:
    listed = stack.client("secretsmanager").list_secrets(IncludePlannedDeletion=True)
    return sorted(
        entry["Name"]
        for entry in listed["SecretList"]
        if entry["Name"].startswith(f"siesa-integration/{client_id}/")
        and not entry.get("DeletedDate")
    )


def _executions(stack: Deployment) -> int:
    machine = stack.state_machine_arn
    return len(stack.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"])


def test_a_kong_clients_life_from_dry_run_to_removal(local_up: LocalUp, tmp_path: Path) -> None:
    endpoint = ["--endpoint-url", local_up.url]
    stack = Deployment(local_up.url)
    spec = DemoClient("life-kong", "Empresa Vida", "kong", 31, "rate(2 hours)")
    with running_world([spec], PRODUCTS) as running:
        world = running["life-kong"]
        options = _documents(world, tmp_path / "docs", stock_schedule="rate(15 minutes)")

        # 1. a dry run says what would be written, and writes nothing
        planned = runner().invoke(
            app, ["client", "add", *options, "--dry-run", "--json", *endpoint]
        )
        assert planned.exit_code == 0, planned.output
        plan = json.loads(planned.stdout)
        assert plan["item"]["stock_schedule"] == "rate(15 minutes)"
        assert [item["name"] for item in plan["secrets"]] == [
            "siesa-integration/life-kong/siesa",
            "siesa-integration/life-kong/kong",
        ]
        assert {rule["rule_name"]: rule["input"] for rule in plan["rules"]} == {
            "siesa-integration-life-kong-schedule": {
                "client_id": "life-kong",
                "sync_type": "incremental",
            },
            "siesa-integration-life-kong-stock": {"client_id": "life-kong", "sync_type": "stock"},
        }
        assert world.product_key not in planned.output and world.siesa_key not in planned.output
        assert _rules(stack, "life-kong") == [] and _live_secrets(stack, "life-kong") == []
        assert runner().invoke(app, ["client", "show", "life-kong", *endpoint]).exit_code == 1

        # 2. add checks both APIs, then registers the client with both rules
        added = runner().invoke(app, ["client", "add", *options, *endpoint])
        assert added.exit_code == 0, added.output
        assert "siesa-integration-life-kong-stock (rate(15 minutes))" in added.stdout
        listed = json.loads(runner().invoke(app, ["client", "list", "--json", *endpoint]).stdout)
        (client,) = [entry for entry in listed["clients"] if entry["client_id"] == "life-kong"]
        assert client["stock_schedule"] == "rate(15 minutes)"
        assert client["stock_rule"]["input"] == {"client_id": "life-kong", "sync_type": "stock"}
        assert client["stock_rule"]["state"] == "ENABLED"
        shown = runner().invoke(app, ["client", "show", "life-kong", *endpoint])
        assert "siesa-integration-life-kong-stock" in shown.stdout

        checked = runner().invoke(app, ["client", "check", "life-kong", "--json", *endpoint])
        assert checked.exit_code == 0, checked.output
        report = json.loads(checked.stdout)
        assert [(s["system"], s["reachable"], s["authenticated"]) for s in report["systems"]] == [
            ("siesa", True, True),
            ("kong", True, True),
        ]
        assert all(isinstance(s["latency_ms"], int) for s in report["systems"])

        # 3. sync --dry-run shows the execution input and starts nothing
        before = _executions(stack)
        dry = runner().invoke(
            app, ["sync", "--client", "life-kong", "--dry-run", "--json", *endpoint]
        )
        assert dry.exit_code == 0, dry.output
        dry_plan = json.loads(dry.stdout)
        assert dry_plan["execution_input"]["sync_type"] == "incremental"
        assert dry_plan["reads"]["secrets"] == [item["name"] for item in plan["secrets"]]
        assert _executions(stack) == before

        # 4. a run caches the product key; the key is replaced; the very next run uses the new one
        sync = ["sync", "--client", "life-kong", "--sync-type", "initial", "--wait", *endpoint]
        first = runner().invoke(app, sync)
        assert first.exit_code in (0, 3), first.output
        new_key = "rotated-" + world.product_key[::-1]
        world.product.keys.add(new_key, "life-kong")
        world.product.keys.revoke(world.product_key)
        refused = runner().invoke(app, ["client", "check", "life-kong", *endpoint])
        assert refused.exit_code == 1
        assert "kong" in refused.stdout and "error:" in refused.stderr
        new_product = tmp_path / "new-kong.json"
        new_product.write_text(
            json.dumps({**world.product_credentials(), "api_key": new_key}), "utf-8"
        )
        changed = runner().invoke(
            app,
            ["client", "set-credentials", "life-kong", "--product", str(new_product), *endpoint],
        )
        assert changed.exit_code == 0, changed.output
        assert new_key not in changed.output
        second = runner().invoke(app, sync)
        assert second.exit_code in (0, 3), second.output
        assert runner().invoke(app, ["client", "check", "life-kong", *endpoint]).exit_code == 0

        # 5. schedules change in the item and in their rules
        bad = runner().invoke(
            app, ["client", "set-schedule", "life-kong", "rate(1 hours)", *endpoint]
        )
        assert bad.exit_code == 1 and "rate(1 hour)" in bad.stderr
        for args in (["rate(1 hour)"], ["rate(30 minutes)", "--stock"]):
            moved = runner().invoke(app, ["client", "set-schedule", "life-kong", *args, *endpoint])
            assert moved.exit_code == 0, moved.output
        shown_json = json.loads(
            runner().invoke(app, ["client", "show", "life-kong", "--json", *endpoint]).stdout
        )
        assert shown_json["sync_schedule"] == shown_json["schedule"]["schedule"] == "rate(1 hour)"
        assert shown_json["stock_rule"]["schedule"] == "rate(30 minutes)"

        # 5b. limits change in the item, checked by the config's rules first
        too_low = runner().invoke(
            app, ["client", "set-limits", "life-kong", "--product-concurrency", "0", *endpoint]
        )
        assert too_low.exit_code == 1 and "product_concurrency" in too_low.stderr
        limits = [
            "--product-concurrency",
            "2",
            "--product-requests-per-minute",
            "600",
            "--failed-records-alert-percent",
            "12.5",
        ]
        set_ = runner().invoke(app, ["client", "set-limits", "life-kong", *limits, *endpoint])
        assert set_.exit_code == 0, set_.output
        limited = json.loads(
            runner().invoke(app, ["client", "show", "life-kong", "--json", *endpoint]).stdout
        )
        assert limited["product_concurrency"] == 2
        assert limited["product_requests_per_minute"] == 600
        assert limited["failed_records_alert_percent"] == 12.5
        uncapped = ["--product-requests-per-minute", "default"]
        back = runner().invoke(app, ["client", "set-limits", "life-kong", *uncapped, *endpoint])
        assert back.exit_code == 0 and "no cap" in back.stdout, back.output

        # 6. remove asks first; --yes removes rules, secrets (recoverable) and the item
        kept = runner().invoke(app, ["client", "remove", "life-kong", *endpoint], input="n\n")
        assert kept.exit_code == 1 and _rules(stack, "life-kong")
        removed = runner().invoke(app, ["client", "remove", "life-kong", "--yes", *endpoint])
        assert removed.exit_code == 0, removed.output
        assert "restorable for 30 days" in removed.stdout
        assert _rules(stack, "life-kong") == [] and _live_secrets(stack, "life-kong") == []
        described = stack.client("secretsmanager").describe_secret(
            SecretId="siesa-integration/life-kong/kong"
        )
        assert described.get("DeletedDate") is not None  # scheduled, still restorable
        assert runner().invoke(app, ["client", "show", "life-kong", *endpoint]).exit_code == 1


def test_add_refuses_a_client_whose_key_is_wrong_unless_told_not_to_check(
    local_up: LocalUp, tmp_path: Path
) -> None:
    endpoint = ["--endpoint-url", local_up.url]
    stack = Deployment(local_up.url)
    spec = DemoClient("wrong-key", "Empresa Clave", "kong", 32, "rate(6 hours)")
    with running_world([spec], PRODUCTS) as running:
        world = running["wrong-key"]
        options = _documents(world, tmp_path / "docs")
        product = tmp_path / "docs" / "product.json"
        product.write_text(
            json.dumps({**world.product_credentials(), "api_key": "not-the-key-123"}), "utf-8"
        )
        refused = runner().invoke(app, ["client", "add", *options, *endpoint])
        assert refused.exit_code == 1
        assert "connection check of wrong-key failed" in refused.stderr
        assert "nothing was written" in refused.stderr and "--no-check" in refused.stderr
        assert "authenticated" in refused.stderr and "Traceback" not in refused.output
        assert _live_secrets(stack, "wrong-key") == [] and _rules(stack, "wrong-key") == []

        unchecked = runner().invoke(app, ["client", "add", *options, "--no-check", *endpoint])
        assert unchecked.exit_code == 0, unchecked.output
        assert _rules(stack, "wrong-key") == ["siesa-integration-wrong-key-schedule"]
        removed = runner().invoke(app, ["client", "remove", "wrong-key", "--yes", *endpoint])
        assert removed.exit_code == 0, removed.output
        assert _rules(stack, "wrong-key") == [] and _live_secrets(stack, "wrong-key") == []
