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

# format() shapes: one character class per SPEC character.
SHAPE_CLASSES = {"A": "[A-Z]", "a": "[a-z]", "9": "[0-9]", "X": "[A-Za-z0-9]"}


def known_list(words: Iterable[str]) -> str:
    """Words for a message: `a`, `b`, `c`."""
    return ", ".join(f"`{word}`" for word in words)
