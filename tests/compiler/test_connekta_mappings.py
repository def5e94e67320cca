"""mappings/connekta/*.map: overrides of the product mappings that change only the source fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.mapping import map_app
from compiler.pipeline import compile_file
from contract.loaded import LoadedMapping
from local.sim.catalog import INVALID_KINDS, generate_catalog
from local.sim.connekta import ConnektaSim

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"


def _module(relative: str) -> tuple[LoadedMapping, Any]:
    compiled = compile_file(MAPPINGS / relative, root=MAPPINGS)
    return compiled.load(), compiled.mapping


def test_the_examples_pass_and_the_files_are_formatted() -> None:
    files = [str(MAPPINGS / "connekta" / name) for name in ("kong.map", "wms.map")]
    tested = CliRunner().invoke(map_app, ["test", *files])
    assert tested.exit_code == 0, tested.output
    assert "ok: 10 example(s) passed" in tested.output
    formatted = CliRunner().invoke(map_app, ["fmt", "--check", *files])
    assert formatted.exit_code == 0, formatted.output


@pytest.mark.parametrize("product", ["kong", "wms"])
def test_only_the_source_fields_differ_from_the_product_mapping(product: str) -> None:
    _, base = _module(f"{product}.map")
    _, override = _module(f"connekta/{product}.map")
    assert override.name == f"connekta-{product}" and override.product_type == product

    def shape(mapping: Any) -> dict[str, Any]:
        return {
            field.canonical: (field.type, field.required, field.target, field.steps, field.checks)
            for field in mapping.fields
        }

    assert shape(override) == shape(base)
    for field in override.fields:
        assert all(
            source.startswith("f1") or source.startswith("f4") for source in field.sources
        ), field
    assert override.every_string == base.every_string


@pytest.mark.parametrize(
    ("product", "rejected_kinds"),
    [("kong", set(INVALID_KINDS) - {"malformed_location"}), ("wms", set(INVALID_KINDS))],
)
def test_every_simulated_connekta_row_maps_or_is_rejected_for_its_known_reason(
    product: str, rejected_kinds: set[str]
) -> None:
    catalog = generate_catalog(400, seed=17, invalid_share=0.05)
    module, _ = _module(f"connekta/{product}.map")
    rejected_by_id = {
        str(int(code.removeprefix("PROD"))): kind
        for code, kind in catalog.invalid.items()
        if kind in rejected_kinds
    }
    for row in ConnektaSim(catalog).rows():
        canonical, issues = module.to_canonical(row)
        row_id = str(row["f120_id"])
        if row_id in rejected_by_id:
            assert canonical is None, (row_id, rejected_by_id[row_id])
            continue
        assert canonical is not None, (row, issues)
        assert canonical["id"] == row_id
        assert canonical["name"] == row["f120_descripcion"].strip()
        assert canonical["sku"] == row["f120_referencia"].strip()
        assert canonical["stock_quantity"] == int(float(row["f400_cant_existencia_1"]))
        assert all(
            value is None or value == value.strip()
            for value in canonical.values()
            if isinstance(value, str)
        )
