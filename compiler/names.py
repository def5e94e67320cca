"""The vocabulary of the language: every name a `.map` file may use, in one place.

The type names live in `dsl.type_names`, shared with the parser's messages.
Checks look names up here and, for a name that is not known, offer the
closest known one as a hint (`dsl.suggest.did_you_mean`).
"""

from __future__ import annotations

from collections.abc import Iterable

from dsl.type_names import TypeName

DEFAULT_TIMEZONE = "America/Bogota"

NUMERIC_TYPES: frozenset[TypeName] = frozenset({"int", "decimal"})

# Words people write for a type, and the type they mean.
TYPE_ALIASES = {
    "str": "string",
    "text": "string",
    "integer": "int",
    "number": "decimal",
    "float": "decimal",
    "numeric": "decimal",
    "boolean": "bool",
    "timestamp": "datetime",
}

POLICIES = ("reject", "drop", "warn")

# The canonical product model of the design document ("Canonical Product Model")
# plus the two WMS fields of its field mappings; anything else is `custom:NAME`.
CANONICAL_FIELDS = (
    "id",
    "external_id",
    "name",
    "display_name",
    "ean",
    "sku",
    "category",
    "stock_quantity",
    "warehouse_location",
    "warehouse_zone",
    "rfid_tag_id",
)
# One line on each canonical field, for people (the editor's hover); a test keeps its keys
# those of CANONICAL_FIELDS. A field's type is what its `field` line declares.
CANONICAL_DOCS = {
    "id": "the record's identity: required, and named in every error about the record",
    "external_id": "the item's code in another system (the ERP's external reference)",
    "name": "the product's name",
    "display_name": "a shorter name for screens and labels",
    "ean": "the EAN-13 barcode",
    "sku": "the stock keeping unit code",
    "category": "the product's category",
    "stock_quantity": "the units in stock",
    "warehouse_location": "where the item is kept in the warehouse (zone, aisle, shelf)",
    "warehouse_zone": "the warehouse zone that holds the item",
    "rfid_tag_id": "the item's RFID tag",
}
CUSTOM_DOC = "a custom field of this mapping: any name after `custom:`"
CUSTOM_PREFIX = "custom:"
ID_FIELD = "id"

# step name -> what its arguments look like, for messages.
STEP_SIGNATURES = {
    "trim": "trim",
    "upper": "upper",
    "lower": "lower",
    "empty_to_missing": "empty_to_missing",
    "strip_zeros": "strip_zeros",
    "pad": 'pad(WIDTH, "C")',
    "replace": 'replace("OLD", "NEW")',
    "lookup": "lookup(TABLE) or lookup(TABLE, keep)",
    "format": 'format("IN", "OUT")',
}
# step name -> what it does, in one line (the editor's hover; keys those of STEP_SIGNATURES).
STEP_DOCS = {
    "trim": "strips spaces at both ends",
    "upper": "changes the text to uppercase",
    "lower": "changes the text to lowercase",
    "empty_to_missing": "an empty string becomes missing",
    "strip_zeros": 'strips leading zeros ("000123" -> "123", "000" -> "0")',
    "pad": "pads on the left to WIDTH with the one-character string C",
    "replace": "replaces every OLD with NEW",
    "lookup": "the table's value for the code; `keep` keeps a code not in the table",
    "format": 'restructures a value by a declared shape: "{zone:A}-{aisle:99}" -> "{zone}{aisle}"',
}
# Steps that never fail, allowed in `every string`.
EVERY_STRING_STEPS = frozenset(
    {"trim", "upper", "lower", "empty_to_missing", "strip_zeros", "pad", "replace"}
)

# validator name -> (the types it applies to, what it accepts)
VALIDATORS = {
    "ean13": (frozenset({"string"}), "is not a valid EAN-13 (13 digits with a valid check digit)"),
    "gtin": (
        frozenset({"string"}),
        "is not a valid GTIN (8, 12, 13 or 14 digits with a valid check digit)",
    ),
}

# The checks written with a keyword or an operator (named validators are in VALIDATORS):
# word -> (the types it applies to, what passes), for people (the editor's hover).
CHECK_DOCS = {
    "matches": ("string", "the whole value matches the regex, on RE2"),
    "length": ("string", "the length is in range: `length N..M`, `length <= M`, `length >= N`"),
    "in": ("string, int", 'the value is one of these: `in ["A", "B"]`'),
    "compare": ("int, decimal", "the comparison holds: `>= N`, `> N`, `<= N`, `< N`"),
    "range": ("int, decimal", "N <= value <= M: `N..M`"),
}

# format() shapes: one character class per SPEC character.
SHAPE_CLASSES = {"A": "[A-Z]", "a": "[a-z]", "9": "[0-9]", "X": "[A-Za-z0-9]"}


def known_list(words: Iterable[str]) -> str:
    """Words for a message: `a`, `b`, `c`."""
    return ", ".join(f"`{word}`" for word in words)
