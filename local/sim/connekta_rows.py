"""A catalog item as a row of the Connekta simulator's saved query, with Connekta's quirks.

The simulator's query (the contract's ItemRow, "INTEGRACION_ITEMS") joins the
item (t120) with its barcode (t131), stock (t400), location (t155) and
warehouse (t150). Columns Siesa does not standardise come from the client's
own joins, named in the same f<table>_<column> style:

| column | from the catalog | meaning |
| --- | --- | --- |
| f120_rowid | company × 10,000,000 + item number | the row's id in the tenant |
| f120_id | the digits of f_codigo (PROD000123 -> 123) | item id, an integer |
| f120_id_cia | the company the catalog belongs to | ERP company code |
| f120_referencia | f_referencia | SKU |
| f120_descripcion | f_nombre | name |
| f120_descripcion_corta | f_nombre_corto | short name |
| f120_ts | f_fecha_modificacion | last change, local time, `T`, sometimes `.000` |
| f131_id | f_ean | barcode |
| f400_cant_existencia_1 | f_cantidad | stock: a number, or a string with 4 decimals |
| f155_id | f_ubicacion | location code (A-01-05) |
| f155_id_zona | f_zona | warehouse zone |
| f150_id | the main warehouse | warehouse id |
| f106_id | f_categoria | category code |
| f121_id_ext1_detalle | f_color | extension 1 (colour) |
| f121_id_ext2_detalle | f_talla | extension 2 (size) |
| f120_tag_rfid | f_tag_rfid | RFID EPC |

Strings are padded with trailing spaces to their column's width, as SQL CHAR
columns come back; a value the catalog leaves out or null is a null.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from local.sim.vocabulary import WAREHOUSES

ROWID_COMPANY_FACTOR = 10_000_000

STRING_COLUMNS: dict[str, tuple[str, int]] = {
    "f120_referencia": ("f_referencia", 50),
    "f120_descripcion": ("f_nombre", 60),
    "f120_descripcion_corta": ("f_nombre_corto", 30),
    "f131_id": ("f_ean", 20),
    "f155_id": ("f_ubicacion", 10),
    "f155_id_zona": ("f_zona", 10),
    "f106_id": ("f_categoria", 4),
    "f121_id_ext1_detalle": ("f_color", 20),
    "f121_id_ext2_detalle": ("f_talla", 20),
    "f120_tag_rfid": ("f_tag_rfid", 32),
}
"""Connekta column -> (catalog field, CHAR width)."""

ROW_COLUMNS: tuple[str, ...] = (
    "f120_rowid",
    "f120_id",
    "f120_id_cia",
    "f120_ts",
    "f400_cant_existencia_1",
    "f150_id",
    *STRING_COLUMNS,
)
"""Every column of a row: the only column names `parametros` may use."""

TIMESTAMP_COLUMNS = frozenset({"f120_ts"})
NUMBER_COLUMNS = frozenset({"f120_rowid", "f120_id", "f120_id_cia"})

_DIGITS = re.compile(r"([0-9]+)\s*$")


def item_number(code: str) -> int:
    """The integer item id of a catalog code: its trailing digits (PROD000123 -> 123)."""
    match = _DIGITS.search(code)
    if match is None:
        raise ValueError(f"item code {code!r} ends in no digits: it has no Connekta f120_id")
    return int(match.group(1))


def _padded(value: Any, width: int) -> Any:
    return value.ljust(width) if isinstance(value, str) else value


def _quantity(value: Any, number: int) -> Any:
    """Stock as Connekta sends it: a float for even items, a 4-decimal string for odd ones."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = float(str(value).strip())
    except ValueError:
        return value  # unreadable in the catalog: sent as it is
    return amount if number % 2 == 0 else f"{amount:.4f}"


def _timestamp(value: str, number: int) -> str:
    stamp = value.strip().replace(" ", "T")
    return stamp + ".000" if number % 3 == 0 else stamp


def connekta_row(record: Mapping[str, Any], company: int) -> dict[str, Any]:
    """One catalog record of `company` as the saved query returns it."""
    number = item_number(str(record["f_codigo"]))
    row: dict[str, Any] = {
        "f120_rowid": company * ROWID_COMPANY_FACTOR + number,
        "f120_id": number,
        "f120_id_cia": company,
        "f120_ts": _timestamp(str(record["f_fecha_modificacion"]), number),
        "f400_cant_existencia_1": _quantity(record.get("f_cantidad"), number),
        "f150_id": _padded(WAREHOUSES[0], 10),
    }
    for column, (field, width) in STRING_COLUMNS.items():
        row[column] = _padded(record.get(field), width)
    return row
