"""The product mappings (mappings/*.map) against the design document and the product contracts.

The design document's example records (its Kong and WMS "Data Format"
sections and the Transformer's canonical product) must come out exactly.
One correction: the document's EAN 1234567890123 has a wrong check digit,
which both product contracts refuse; the record carries 1234567890128 (the
same digits with the right check digit), and the document's own EAN is shown
to be rejected with that reason.
"""

from __future__ import annotations

from types import ModuleType

import pytest

DOC_EAN = "1234567890123"
VALID_EAN = "1234567890128"

# The design document, "Kong (RFID) API Integration" -> "Data Format".
KONG_DATA_FORMAT = {
    "product_id": "PROD001",
    "external_reference": "SIESA-PROD001",
    "name": "Product Name",
    "barcode": VALID_EAN,
    "quantity": 100,
    "rfid_tag_id": "E2801170000002012345678",
}
# The design document, "WMS (Microservices) API Integration" -> "Data Format".
WMS_DATA_FORMAT = {
    "item_id": "ITEM001",
    "external_item_code": "SIESA-ITEM001",
    "item_name": "Item Name",
    "ean_code": VALID_EAN,
    "available_quantity": 100,
    "location_code": "A0105",
    "zone_id": "ZONE-A",
}
# The Siesa records those come from, as the Siesa contract describes them.
KONG_SIESA_RECORD = {
    "f_codigo": "PROD001",
    "f_codigo_externo": "SIESA-PROD001",
    "f_nombre": "Product Name",
    "f_ean": VALID_EAN,
    "f_cantidad": 100,
    "f_tag_rfid": "E2801170000002012345678",
    "f_fecha_modificacion": "2025-01-15 10:00:00",
}
WMS_SIESA_RECORD = {
    "f_codigo": "ITEM001",
    "f_codigo_externo": "SIESA-ITEM001",
    "f_nombre": "Item Name",
    "f_ean": VALID_EAN,
    "f_cantidad": 100,
    "f_ubicacion": "A-01-05",
    "f_zona": "ZONE-A",
    "f_fecha_modificacion": "2025-01-15 10:00:00",
}
# The design document, "Lambda Function: Transformer" -> Output -> canonical_products[0].
DOC_CANONICAL = {
    "id": "PROD001",
    "external_id": "SIESA-PROD001",
    "name": "Product Name",
    "display_name": "Product Display Name",
    "ean": VALID_EAN,
    "sku": "SKU001",
    "category": "Electronics",
    "stock_quantity": 100,
    "warehouse_location": "A-01-05",
    "rfid_tag_id": None,
    "custom:color": "Blue",
    "custom:size": "M",
}
CANONICAL_SIESA_RECORD = {
    "f_codigo": "PROD001",
    "f_codigo_externo": "SIESA-PROD001",
    "f_nombre": "Product Name",
    "f_nombre_corto": "Product Display Name",
    "f_ean": VALID_EAN,
    "f_referencia": "SKU001",
    "f_categoria": "Electronics",
    "f_cantidad": 100,
    "f_ubicacion": "A-01-05",
    "f_tag_rfid": None,
    "f_color": "Blue",
    "f_talla": "M",
    "f_fecha_modificacion": "2025-01-15 10:00:00",
}


def _map(module: ModuleType, record: dict[str, object]) -> dict[str, object]:
    canonical, issues = module.to_canonical(record)
    assert issues == []
    assert canonical is not None
    return dict(module.to_product(canonical))


def test_kong_turns_the_design_documents_record_into_its_data_format(
    product_modules: dict[str, ModuleType],
) -> None:
    assert _map(product_modules["kong"], KONG_SIESA_RECORD) == KONG_DATA_FORMAT


def test_wms_turns_the_design_documents_record_into_its_data_format(
    product_modules: dict[str, ModuleType],
) -> None:
    assert _map(product_modules["wms"], WMS_SIESA_RECORD) == WMS_DATA_FORMAT


@pytest.mark.parametrize(
    ("product", "record"), [("kong", KONG_SIESA_RECORD), ("wms", WMS_SIESA_RECORD)]
)
def test_the_documents_own_ean_is_rejected_for_its_check_digit(
    product_modules: dict[str, ModuleType], product: str, record: dict[str, object]
) -> None:
    canonical, issues = product_modules[product].to_canonical({**record, "f_ean": DOC_EAN})
    assert canonical is None
    assert [(i["field"], i["value"], i["severity"]) for i in issues] == [("ean", DOC_EAN, "error")]
    assert "check digit" in str(issues[0]["reason"])
    assert issues[0]["record_id"] == record["f_codigo"]


def test_kong_gives_the_documents_canonical_product(product_modules: dict[str, ModuleType]) -> None:
    canonical, issues = product_modules["kong"].to_canonical(CANONICAL_SIESA_RECORD)
    assert issues == []
    # Kong's mapping has no warehouse location: it is the only key of the document's example it lacks.
    expected = {key: value for key, value in DOC_CANONICAL.items() if key != "warehouse_location"}
    assert canonical == expected
    assert list(canonical) == list(expected)


def test_wms_gives_the_documents_canonical_product_with_the_location_rule_applied(
    product_modules: dict[str, ModuleType],
) -> None:
    canonical, issues = product_modules["wms"].to_canonical(CANONICAL_SIESA_RECORD)
    assert issues == []
    expected = {key: value for key, value in DOC_CANONICAL.items() if key != "rfid_tag_id"}
    assert canonical == {**expected, "warehouse_location": "A0105", "warehouse_zone": None}


def test_custom_fields_reach_the_products_attributes(
    product_modules: dict[str, ModuleType],
) -> None:
    for name in ("kong", "wms"):
        product = _map(product_modules[name], CANONICAL_SIESA_RECORD)
        assert product["attributes"] == {"color": "Blue", "size": "M"}
        product = _map(
            product_modules[name], {**CANONICAL_SIESA_RECORD, "f_color": " ", "f_talla": None}
        )
        assert "attributes" not in product


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"f_codigo": "PROD 001"}, "id"),
        ({"f_codigo": "P" * 65}, "id"),
        ({"f_nombre": "N" * 201}, "name"),
        ({"f_ean": "12345678"}, "ean"),
        ({"f_cantidad": -1}, "stock_quantity"),
        ({"f_cantidad": "1.5"}, "stock_quantity"),
        ({"f_tag_rfid": "E28011700000020"}, "rfid_tag_id"),
        ({"f_tag_rfid": "E2801170000002012345678XYZ"}, "rfid_tag_id"),
        ({"f_codigo_externo": ""}, "external_id"),
    ],
)
def test_kong_rejects_what_kongs_contract_refuses(
    product_modules: dict[str, ModuleType], change: dict[str, object], field: str
) -> None:
    canonical, issues = product_modules["kong"].to_canonical({**KONG_SIESA_RECORD, **change})
    assert canonical is None
    assert [issue["field"] for issue in issues] == [field]


@pytest.mark.parametrize(
    ("location", "expected"),
    [("A-01-05", "A0105"), (" b-12-03 ", "B1203"), ("Z-99-00", "Z9900")],
)
def test_wms_location_rule(
    product_modules: dict[str, ModuleType], location: str, expected: str
) -> None:
    product = _map(product_modules["wms"], {**WMS_SIESA_RECORD, "f_ubicacion": location})
    assert product["location_code"] == expected


@pytest.mark.parametrize("location", ["A0105", "AA-01-05", "A-1-05", "1-01-05", "", None])
def test_wms_rejects_a_location_it_cannot_use(
    product_modules: dict[str, ModuleType], location: object
) -> None:
    canonical, issues = product_modules["wms"].to_canonical(
        {**WMS_SIESA_RECORD, "f_ubicacion": location}
    )
    assert canonical is None
    assert [issue["field"] for issue in issues] == ["warehouse_location"]


def test_the_client_override_reads_the_location_elsewhere_and_keeps_the_rest(
    product_modules: dict[str, ModuleType],
) -> None:
    record = {**WMS_SIESA_RECORD, "f_ubicacion": None, "f_ubicacion_alterna": "C-02-07"}
    assert _map(product_modules["cliente-e"], record) == {
        **WMS_DATA_FORMAT,
        "location_code": "C0207",
    }
    wms_fields = [f["canonical"] for f in product_modules["wms"].FIELDS]
    client_fields = [f["canonical"] for f in product_modules["cliente-e"].FIELDS]
    assert client_fields == wms_fields
    location = next(
        f for f in product_modules["cliente-e"].FIELDS if f["canonical"] == "warehouse_location"
    )
    assert location["sources"] == ("f_ubicacion_alterna",)
    assert location["file"] == "clients/cliente-e.map"
    assert product_modules["cliente-e"].MAPPING["product_type"] == "wms"


def test_display_name_falls_back_to_the_name(product_modules: dict[str, ModuleType]) -> None:
    canonical, _ = product_modules["kong"].to_canonical(
        {**KONG_SIESA_RECORD, "f_nombre_corto": "  "}
    )
    assert canonical is not None and canonical["display_name"] == "Product Name"
