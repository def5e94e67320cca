"""Adding a product is one adapter module plus one `.map` file: a small TMS, end to end.

Nothing in runtime/ knows about "tms": the adapter registers itself when its
module is imported, the config accepts the product type because the registry
has it, and the shared ProductAdapter machinery does batching, per-item
results and the error matrix.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from runtime.adapters.registry import get_adapter_class, unregister
from runtime.config import ClientConfig, ProductCredentials
from runtime.errors import ProductAuthError, UnknownProductType
from runtime.product_types import registered_product_types

HERE = Path(__file__).parent
TMS_MAP = HERE / "tms.map"
TOKEN = "tms-token-0d9e55b1-unique"

if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
from tms_server import tms_server  # noqa: E402


def import_path(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tms_module() -> Iterator[ModuleType]:
    """Import the TMS adapter module (which registers "tms"); forget it afterwards."""
    module = import_path("tms_adapter", HERE / "tms_adapter.py")
    try:
        yield module
    finally:
        unregister("tms")


def tms_config(api_url: str) -> ClientConfig:
    return ClientConfig(
        client_id="cliente-t",
        client_name="Transportes T",
        product_type="tms",
        siesa_api_url="https://cliente-t.siesa.example/api/v1",
        product_api_url=api_url,
    )


def tms_credentials(api_url: str, token: str = TOKEN) -> ProductCredentials:
    return ProductCredentials(product_type="tms", api_url=api_url, api_key=token)


def test_importing_the_module_is_all_it_takes_to_register(tms_module: ModuleType) -> None:
    assert "tms" in registered_product_types()
    assert get_adapter_class("tms") is tms_module.TMSAdapter
    config = tms_config("https://cliente-t.tms.example/api/v1")
    assert config.product_credentials_secret == "siesa-integration/cliente-t/tms"
    assert config.field_mappings_key == "tms"


def test_without_the_module_the_product_type_is_unknown() -> None:
    assert "tms" not in registered_product_types()
    with pytest.raises(UnknownProductType, match="'tms'"):
        get_adapter_class("tms")
    with pytest.raises(ValidationError, match="unknown product type 'tms'"):
        tms_config("https://cliente-t.tms.example/api/v1")


def test_the_map_file_targets_the_fields_the_adapter_sends(tms_module: ModuleType) -> None:
    from dsl.ast import FieldStmt, MappingStmt
    from dsl.parser import parse_file

    parsed = parse_file(TMS_MAP)
    header = next(s for s in parsed.statements if isinstance(s, MappingStmt))
    assert header.product is not None and header.product.text == "tms"
    targets = {
        s.name.text: s.target.text
        for s in parsed.statements
        if isinstance(s, FieldStmt) and s.target
    }
    assert targets["id"] == tms_module.TMSAdapter.id_field == "sku"
    assert set(targets.values()) == {"sku", "description", "units", "weight_kg"}


def tms_to_product(canonical: dict[str, Any]) -> dict[str, Any]:
    """What tms.map's targets say a product is; used where the compiled module is not needed."""
    return {
        "sku": canonical["id"],
        "description": canonical["name"],
        "units": canonical["stock_quantity"],
        "weight_kg": canonical.get("custom:peso"),
    }


def test_the_shared_machinery_loads_reports_and_stops_for_tms(tms_module: ModuleType) -> None:
    mapping = ModuleType("tms_mapping_under_test")
    mapping.to_product = tms_to_product  # type: ignore[attr-defined]
    canonical = [
        {"id": "SKU001", "name": "Caja", "stock_quantity": 3, "custom:peso": "2.50"},
        {"id": "SKU002", "name": "Estiba", "stock_quantity": 1, "custom:peso": "1500.00"},
        {"id": "SKU 3", "name": "Bolsa", "stock_quantity": 1, "custom:peso": None},
    ]
    with tms_server(TOKEN) as (app, api_url):
        adapter_class = get_adapter_class("tms")
        with adapter_class(tms_credentials(api_url), tms_config(api_url), mapping) as adapter:
            result = adapter.load_batch(adapter.transform_products(canonical))
        assert result.succeeded == ["SKU001"]
        assert [(f.id, f.reason) for f in result.failed] == [
            ("SKU 3", "TMS needs: sku must be 1..64 characters of A-Z a-z 0-9 . _ -"),
            ("SKU002", "TMS: weight_kg over the 1000 kg limit"),
        ]
        assert app.skus["SKU001"] == tms_to_product(canonical[0])
        with (
            adapter_class(
                tms_credentials(api_url, "wrong"), tms_config(api_url), mapping
            ) as refused,
            pytest.raises(
                ProductAuthError, match="TMS POST /api/v1/skus/batch answered 401: bad token"
            ),
        ):
            refused.load_batch(refused.transform_products(canonical[:1]))


def compiled_tms_mapping(out_dir: Path) -> ModuleType:
    """tms.map compiled by the platform's compiler, imported from the bundle it wrote."""
    bundle = pytest.importorskip(
        "compiler.bundle", reason="waits for compiler.bundle.compile_paths (the mapping compiler)"
    )
    if not hasattr(bundle, "compile_paths"):
        pytest.skip("waits for compiler.bundle.compile_paths (the mapping compiler)")
    bundle.compile_paths([TMS_MAP], out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert "tms" in json.dumps(manifest)
    modules = [path for path in out_dir.rglob("*.py")]
    assert len(modules) == 1, f"one .map gives one module, got {modules}"
    return import_path("tms_compiled_mapping", modules[0])


def test_a_compiled_tms_map_drives_the_tms_adapter(tms_module: ModuleType, tmp_path: Path) -> None:
    mapping = compiled_tms_mapping(tmp_path / "bundle")
    records = [
        {
            "f_codigo": " SKU001 ",
            "f_nombre": "Caja de cartón",
            "f_cantidad": "12.0",
            "f_peso": "2,50",
        },
        {"f_codigo": "SKU002", "f_nombre": "Caja", "f_cantidad": -1},
    ]
    canonical, rejected = [], []
    for record in records:
        row, issues = mapping.to_canonical(record)
        (canonical if row is not None else rejected).append(row or issues)
    assert len(canonical) == 1 and len(rejected) == 1
    with tms_server(TOKEN) as (app, api_url):
        adapter_class = get_adapter_class("tms")
        with adapter_class(tms_credentials(api_url), tms_config(api_url), mapping) as adapter:
            result = adapter.load_batch(adapter.transform_products(canonical))
    assert result.succeeded == ["SKU001"]
    assert app.skus["SKU001"] == {
        "sku": "SKU001",
        "description": "Caja de cartón",
        "units": 12,
        "weight_kg": "2.50",
    }
