"""The item rules of the Kong and WMS contracts, as pure functions.

Each check returns None for a valid item or one sentence saying what is wrong,
which is the per-item `error` the simulators answer with.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from local.sim.codes import is_valid_ean13

ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
RFID_PATTERN = re.compile(r"[0-9A-F]{16,32}")
WMS_LOCATION_PATTERN = re.compile(r"[A-Z][0-9]{4}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id_error(field: str, value: object) -> str | None:
    if not isinstance(value, str):
        return f"{field} is required and must be a string"
    if not ID_PATTERN.fullmatch(value):
        return f"{field} must be 1..64 characters of [A-Za-z0-9._-]"
    return None


def _name_error(field: str, value: object) -> str | None:
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        return f"{field} is required and must be 1..200 characters"
    return None


def _string_error(field: str, value: object) -> str | None:
    if not isinstance(value, str):
        return f"{field} is required and must be a string"
    return None


def _ean_error(field: str, value: object) -> str | None:
    if value is None:
        return None
    if not is_valid_ean13(value):
        return f"{field} must be null or 13 digits with a valid EAN-13 check digit"
    return None


def _quantity_error(field: str, value: object) -> str | None:
    if not _is_int(value) or value < 0:  # type: ignore[operator]
        return f"{field} is required and must be an integer >= 0"
    return None


def _attributes_error(value: object) -> str | None:
    if value is not None and not isinstance(value, dict):
        return "attributes must be an object"
    return None


def rfid_error(value: object) -> str | None:
    """Kong's tag rule: null or 16..32 uppercase hex characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not RFID_PATTERN.fullmatch(value):
        return "rfid_tag_id must be null or 16..32 uppercase hex characters"
    return None


def kong_product_error(item: object) -> str | None:
    """The first Kong item rule `item` breaks, or None when it is a valid KongProduct."""
    if not isinstance(item, dict):
        return "item must be a JSON object"
    return (
        _id_error("product_id", item.get("product_id"))
        or _string_error("external_reference", item.get("external_reference"))
        or _name_error("name", item.get("name"))
        or _ean_error("barcode", item.get("barcode"))
        or _quantity_error("quantity", item.get("quantity"))
        or rfid_error(item.get("rfid_tag_id"))
        or _attributes_error(item.get("attributes"))
    )


def wms_location_error(value: object) -> str | None:
    """WMS location rule: required, one uppercase letter and four digits (A0105)."""
    if not isinstance(value, str) or not WMS_LOCATION_PATTERN.fullmatch(value):
        return "location_code is required and must match ^[A-Z][0-9]{4}$ (e.g. A0105)"
    return None


def wms_zone_error(value: object, zones: Collection[str]) -> str | None:
    """WMS zone rule: null or a zone that GET /warehouse/zones lists."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in zones:
        return f"zone_id {value!r} is not a listed zone"
    return None


def wms_item_error(item: object, zones: Collection[str]) -> str | None:
    """The first WMS item rule `item` breaks, or None when it is a valid WmsItem."""
    if not isinstance(item, dict):
        return "item must be a JSON object"
    return (
        _id_error("item_id", item.get("item_id"))
        or _string_error("external_item_code", item.get("external_item_code"))
        or _name_error("item_name", item.get("item_name"))
        or _ean_error("ean_code", item.get("ean_code"))
        or _quantity_error("available_quantity", item.get("available_quantity"))
        or wms_location_error(item.get("location_code"))
        or wms_zone_error(item.get("zone_id"), zones)
        or _attributes_error(item.get("attributes"))
    )


def item_key(item: object, field: str) -> str:
    """The id a per-item result names: the item's key when it is a string, else ""."""
    if isinstance(item, dict):
        value: Any = item.get(field)
        if isinstance(value, str):
            return value
    return ""
