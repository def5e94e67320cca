"""`siesa map preview` on the local engine: a changed kong.map against a Kong client's real run.

The client syncs a seeded catalog through the whole workflow; then a temp
copy of mappings/kong.map reads the barcode from a column the ERP does not
have. The counts the preview must report are computed here from the
simulator's catalog records (which records the mapping accepts, which carry
an EAN), not from the preview's code; the simulators' request logs show that
the preview called neither Siesa nor Kong.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.app import app
from local.demo_world import ClientWorld
from local.sim.catalog import record_key

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from e2e_support import E2eEngine, kong_client, worlds

KONG_MAP = Path(__file__).parents[2] / "mappings" / "kong.map"
BARCODE_RULE = "<- f_ean -> barcode"
PRODUCTS = 200  # 2 % invalid: one record of each invalid kind, a bad EAN among them
REJECTED_BY_KONG_MAP = ("bad_ean_check_digit", "negative_quantity", "missing_name")
"""The catalog's invalid kinds kong.map rejects (a malformed location is a WMS field)."""


@dataclass
class Synced:
    world: ClientWorld
    run_id: str
    endpoint: list[str]


@pytest.fixture(scope="module")
def synced(engine: E2eEngine) -> Iterator[Synced]:
    with worlds(kong_client("preview-kong", seed=23), products=PRODUCTS) as running:
        world = running["preview-kong"]
        engine.add(world)
        outcome = engine.sync(world.client_id)
        assert outcome.status in ("success", "partial"), outcome
        assert outcome.run_id is not None
        yield Synced(world, outcome.run_id, ["--endpoint-url", engine.aws.url])


def requests_seen(world: ClientWorld) -> int:
    return len(world.product.log.entries()) + len(world.siesa.log.entries())


def preview(synced: Synced, file: Path, *extra: str) -> Result:
    return CliRunner().invoke(
        app,
        ["map", "preview", str(file), "--client", synced.world.client_id, *synced.endpoint, *extra],
    )


def changed_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = KONG_MAP.read_text(encoding="utf-8")
    assert text.count(old) == 1
    copy = tmp_path / "kong.map"
    copy.write_text(text.replace(old, new), encoding="utf-8")
    return copy


def test_a_barcode_rule_change_reports_exactly_the_records_the_catalog_says(
    synced: Synced, tmp_path: Path
) -> None:
    world = synced.world
    records = {record_key(record): record for record in world.erp_records()}
    invalid = world.catalog.invalid
    accepted = {code for code in records if invalid.get(code) not in REJECTED_BY_KONG_MAP}
    bad_ean = sorted(code for code, kind in invalid.items() if kind == "bad_ean_check_digit")
    with_ean = {
        code: str(records[code]["f_ean"]).strip()
        for code in accepted
        if str(records[code].get("f_ean") or "").strip()
    }
    assert bad_ean and with_ean and set(world.held()) <= accepted  # the catalog is what we think

    file = changed_copy(tmp_path, BARCODE_RULE, "<- f_ean_2024 -> barcode")
    before = requests_seen(world)
    result = preview(synced, file, "--json")
    assert requests_seen(world) == before, "the preview called Siesa or Kong"
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)

    assert report["schema_version"] == 1
    assert report["run"]["run_id"] == synced.run_id
    assert report["erp_records"] == len(records)
    (barcode,) = report["fields"]
    assert (barcode["field"], barcode["records"]) == ("barcode", len(with_ean))
    for example in barcode["examples"]:
        assert example == {"id": example["id"], "before": with_ean[example["id"]], "after": None}
    assert report["product_records"] == {
        "unchanged": len(accepted) - len(with_ean),
        "changed": len(with_ean),
        "still_rejected": len(records) - len(accepted) - len(bad_ean),
    }
    newly = report["newly_accepted"]
    assert sorted(item["id"] for item in newly) == bad_ean
    assert all(item["was"].startswith("rejected: ean:") for item in newly)
    assert all(item["now"] == "accepted" for item in newly)
    for kind in ("newly_rejected", "newly_skipped", "no_longer_skipped", "no_longer_produced"):
        assert report[kind] == [], kind


def test_the_human_report_names_the_field_its_count_and_an_example(
    synced: Synced, tmp_path: Path
) -> None:
    file = changed_copy(tmp_path, BARCODE_RULE, "<- f_ean_2024 -> barcode")
    before = requests_seen(synced.world)
    result = preview(synced, file, "--run", synced.run_id)
    assert requests_seen(synced.world) == before
    assert result.exit_code == 3, result.output
    assert "Changed product fields" in result.stdout
    assert "barcode" in result.stdout and "→ null" in result.stdout
    assert "Newly accepted" in result.stdout
    assert synced.world.product_key not in result.output


def test_the_mapping_the_run_used_changes_nothing(synced: Synced, tmp_path: Path) -> None:
    file = tmp_path / "kong.map"
    file.write_text(KONG_MAP.read_text(encoding="utf-8"), encoding="utf-8")
    result = preview(synced, file, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["changes"] is False and report["fields"] == []
    assert report["product_records"]["changed"] == 0
    assert report["product_records"]["unchanged"] > 0


def test_a_mapping_with_an_error_prints_its_diagnostic_and_exits_1(
    synced: Synced, tmp_path: Path
) -> None:
    file = changed_copy(tmp_path, BARCODE_RULE, "<- f_ean -> barcode | no_such_transform")
    result = preview(synced, file)
    assert result.exit_code == 1
    assert f"{file}:22:" in result.stderr and "error:" in result.stderr
    assert "^" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("run_id", ["20200101T000000Z-000abc", "no-such-run"])
def test_a_run_that_does_not_exist_is_named_in_a_clear_error(
    synced: Synced, tmp_path: Path, run_id: str
) -> None:
    file = tmp_path / "kong.map"
    file.write_text(KONG_MAP.read_text(encoding="utf-8"), encoding="utf-8")
    result = preview(synced, file, "--run", run_id)
    assert result.exit_code == 1
    assert f"no run {run_id}" in result.stderr or f"no run {run_id!r}" in result.stderr
    assert "preview-kong" in result.stderr
    assert "Traceback" not in result.output


def test_an_unknown_client_is_an_error(synced: Synced, tmp_path: Path) -> None:
    file = tmp_path / "kong.map"
    file.write_text(KONG_MAP.read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["map", "preview", str(file), "--client", "nobody-here", *synced.endpoint]
    )
    assert result.exit_code == 1
    assert "no client nobody-here" in result.stderr


def test_a_mapping_for_another_product_is_refused(synced: Synced) -> None:
    wms = KONG_MAP.with_name("wms.map")
    result = preview(synced, wms)
    assert result.exit_code == 1
    assert "maps to wms, but client preview-kong runs kong" in result.stderr
