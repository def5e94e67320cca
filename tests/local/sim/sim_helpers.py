"""Helpers for the simulator tests: the contracts' schemas, a fake clock, valid items."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CONTRACTS = Path(__file__).parent / "contracts"


@functools.cache
def _contract(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CONTRACTS / f"{name}.openapi.yaml").read_text())
    return loaded


def assert_schema(contract: str, pointer: str, body: Any) -> None:
    """Validate `body` against the schema at `pointer` (a JSON pointer) in a contract."""
    doc = _contract(contract)
    root = {"paths": doc.get("paths", {}), "components": doc.get("components", {}), "$ref": pointer}
    jsonschema.Draft202012Validator(root).validate(body)


def response_schema(path: str, method: str, status: int = 200) -> str:
    """The JSON pointer of an operation's inline response schema."""
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"#/paths/{escaped}/{method}/responses/{status}/content/application~1json/schema"


class FakeClock:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def kong_product(product_id: str = "PROD000001", **overrides: Any) -> dict[str, Any]:
    """A valid Kong product; keyword arguments replace fields."""
    product: dict[str, Any] = {
        "product_id": product_id,
        "external_reference": f"SIESA-{product_id}",
        "name": "Camisa Oxford Manga Larga Azul",
        "barcode": "7702914177764",
        "quantity": 12,
        "rfid_tag_id": None,
        "attributes": {"color": "Azul", "talla": "M"},
    }
    product.update(overrides)
    return product


def wms_item(item_id: str = "PROD000001", **overrides: Any) -> dict[str, Any]:
    """A valid WMS item; keyword arguments replace fields."""
    item: dict[str, Any] = {
        "item_id": item_id,
        "external_item_code": f"SIESA-{item_id}",
        "item_name": "Pantalón de Dril Café",
        "ean_code": "7702914177764",
        "available_quantity": 5,
        "location_code": "A0105",
        "zone_id": "ZONE-A",
    }
    item.update(overrides)
    return item
