"""Transform benchmark: Siesa records through the compiled kong/wms mappings and three alternatives.

    .venv/bin/python benchmarks/transform.py [--records 100000] [--repeat 3] [--seed 20250115]

The same generated Siesa records (with the ERP's quirks from
shared/contracts/siesa.openapi.yaml) go through four implementations of the
same rules, each doing to_canonical + to_product per record:

- compiled:     the modules `siesa map compile` makes from mappings/kong.map and wms.map;
- hand-written: plain Python a developer would write for the same rules;
- interpreter:  a generic engine walking the design document's JSON field-mapping
                files, extended with the same rules (regexes compiled once, the
                mapping pre-resolved into callables, no wasted work);
- pydantic:     pydantic v2 models expressing the same rules.

Before timing, every implementation's output is compared record by record
(canonical record, product record, and the fields an issue names); the run
stops if any two disagree. Timings are the best of `--repeat` passes.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import time
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

from annotated_types import Ge
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

REPO = Path(__file__).resolve().parents[1]
Record = dict[str, Any]
Outcome = tuple[Record | None, list[Record]]
Mapper = Callable[[Record], tuple[Record | None, Record | None, list[Record]]]


# --- records with the ERP's quirks ------------------------------------------------------------


def _ean(rng: random.Random, valid: bool = True) -> str:
    digits = [rng.randrange(10) for _ in range(12)]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    check = (10 - total % 10) % 10
    if not valid:
        check = (check + 1 + rng.randrange(9)) % 10
    return "".join(map(str, digits)) + str(check)


def _pad(rng: random.Random, text: str) -> str:
    return rng.choice(["", " ", "  "]) + text + rng.choice(["", "", " ", "   "])


def siesa_records(count: int, seed: int) -> list[Record]:
    """`count` Siesa records: padded strings, "" for missing, numbers as strings, bad values."""
    rng = random.Random(seed)
    names = ["Camisa", "Pantalón", "Zapato deportivo", "Chaqueta", "Media", "Gorra", "Bolso"]
    records: list[Record] = []
    for n in range(count):
        r = rng.random
        code = f"PROD{n:06d}"
        record: Record = {
            "f_codigo": _pad(rng, code) if r() < 0.3 else code,
            "f_fecha_modificacion": f"2025-01-{1 + n % 28:02d} {n % 24:02d}:00:00",
            "f_precio": f"{rng.randrange(1, 999)}.{rng.randrange(1000):03d},{rng.randrange(100):02d}",
            "f_activo": rng.choice(["S", "N", ""]),
            "f_fecha_creacion": "2024-06-30",
        }
        if r() < 0.01:
            record["f_codigo"] = rng.choice(["PROD 01", "", "   "])
        if r() < 0.99:
            record["f_codigo_externo"] = "" if r() < 0.005 else f"SIESA-{code}"
        name = rng.choice(names)
        record["f_nombre"] = _pad(rng, name) if r() < 0.4 else name
        if r() < 0.01:
            record["f_nombre"] = rng.choice(["", "N" * 201])
        if r() < 0.6:
            record["f_nombre_corto"] = rng.choice(["", name[:4], " " + name[:5]])
        ean_roll = r()
        if ean_roll < 0.45:
            record["f_ean"] = _pad(rng, _ean(rng)) if r() < 0.2 else _ean(rng)
        elif ean_roll < 0.65:
            record["f_ean"] = ""
        elif ean_roll < 0.7:
            record["f_ean"] = None
        elif ean_roll < 0.73:
            record["f_ean"] = rng.choice([_ean(rng, valid=False), "12345"])
        if r() < 0.7:
            record["f_referencia"] = f"SKU{n:05d}"
        if r() < 0.8:
            record["f_categoria"] = rng.choice(["Ropa", "Calzado", "Accesorios", " "])
        qty = rng.randrange(0, 5000)
        record["f_cantidad"] = rng.choices(
            [
                qty,
                str(qty),
                f"{qty}.0",
                float(qty),
                f"{rng.randrange(1, 99)}.{rng.randrange(1000):03d}.{rng.randrange(1000):03d}",
                -qty - 1,
                "1.234",
                "",
                "N/A",
            ],
            weights=[40, 25, 15, 10, 3, 2, 1, 1, 1],
        )[0]
        rfid_roll = r()
        if rfid_roll < 0.5:
            record["f_tag_rfid"] = "".join(rng.choice("0123456789ABCDEF") for _ in range(24))
        elif rfid_roll < 0.6:
            record["f_tag_rfid"] = "".join(rng.choice("0123456789abcdef") for _ in range(24))
        elif rfid_roll < 0.62:
            record["f_tag_rfid"] = "E280"
        elif rfid_roll < 0.8:
            record["f_tag_rfid"] = ""
        loc_roll = r()
        location = f"{rng.choice('ABCDEFGH')}-{rng.randrange(100):02d}-{rng.randrange(100):02d}"
        if loc_roll < 0.85:
            record["f_ubicacion"] = location if r() < 0.7 else _pad(rng, location.lower())
        elif loc_roll < 0.88:
            record["f_ubicacion"] = location.replace("-", "")
        elif loc_roll < 0.9:
            record["f_ubicacion"] = ""
        elif loc_roll < 0.91:
            record["f_ubicacion"] = None
        else:
            record["f_ubicacion"] = record["f_ubicacion_alterna"] = location
        if r() < 0.7:
            record["f_zona"] = f"ZONE-{rng.choice('ABC')}"
        if r() < 0.5:
            record["f_color"] = _pad(rng, rng.choice(["Azul", "Rojo", "Negro"]))
        if r() < 0.5:
            record["f_talla"] = rng.choice(["S", "M", "L", "XL", ""])
        records.append(record)
    return records


# --- the compiled mappings ----------------------------------------------------------------------


def compiled_modules() -> dict[str, ModuleType]:
    """kong.map and wms.map through the compiler, imported from the generated text."""
    from compiler.pipeline import compile_file

    mappings = REPO / "mappings"
    modules = {}
    for name in ("kong", "wms"):
        compiled = compile_file(mappings / f"{name}.map", root=mappings)
        modules[name] = compiled.load().module
    return modules


def two_step_mapper(
    to_canonical: Callable[[Record], Outcome], to_product: Callable[[Record], Record]
) -> Mapper:
    """to_canonical, then to_product of what it accepted: what every implementation times."""

    def run(record: Record) -> tuple[Record | None, Record | None, list[Record]]:
        canonical, issues = to_canonical(record)
        return canonical, (None if canonical is None else to_product(canonical)), issues

    return run


def compiled_mapper(module: ModuleType) -> Mapper:
    return two_step_mapper(module.to_canonical, module.to_product)


# --- (a) hand-written Python -----------------------------------------------------------------------

_ID_CHARS = re.compile(r"^[A-Za-z0-9._-]+$")
_EAN_DIGITS = re.compile(r"^[0-9]{13}$")
_RFID = re.compile(r"^[0-9A-F]{16,32}$")
_ERP_LOCATION = re.compile(r"([A-Z])\-([0-9][0-9])\-([0-9][0-9])")
_WMS_LOCATION = re.compile(r"^[A-Z][0-9]{4}$")
_PLAIN = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_AMBIGUOUS = re.compile(r"[+-]?[1-9][0-9]{0,2}\.[0-9]{3}")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})*(?:,[0-9]+)?|[+-]?[0-9]+,[0-9]+")


class Bad(ValueError):
    """A value the hand-written transform refuses; args[0] is the reason."""


def _map_lines(name: str) -> dict[str, int]:
    """Canonical field -> its line in the .map file, so issues carry the same line numbers."""
    lines = (REPO / "mappings" / f"{name}.map").read_text(encoding="utf-8").splitlines()
    return {
        text.split()[1]: number for number, text in enumerate(lines, 1) if text.startswith("field ")
    }


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _kind(value: Any) -> str:
    if value is True or value is False:
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a text" if isinstance(value, str) else "a number"


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is True or value is False or not isinstance(value, int | float):
        raise Bad(f"is {_kind(value)}, not a text")
    if isinstance(value, int):
        return str(value)
    number = Decimal(repr(value))
    return str(int(number)) if number == number.to_integral_value() else format(number, "f")


def _as_int(value: Any) -> int:
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 40:
            return int(text)
        if _AMBIGUOUS.fullmatch(text):
            raise Bad("is an ambiguous number: the dot may group thousands or mark decimals")
        if _PLAIN.fullmatch(text):
            number = Decimal(text)
        elif _GROUPED.fullmatch(text):
            number = Decimal(text.replace(".", "").replace(",", "."))
        else:
            raise Bad("is not a number")
    elif value is True or value is False:
        raise Bad("is a boolean, not an integer")
    elif isinstance(value, int):
        return value
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Bad("is not a finite number")
        number = Decimal(repr(value))
    else:
        raise Bad(f"is {_kind(value)}, not an integer")
    if number != number.to_integral_value():
        raise Bad("is not a whole number")
    if number.adjusted() > 40:
        raise Bad("is too large a number")
    return int(number)


def _ean13_ok(code: str) -> bool:
    if len(code) != 13 or not (code.isascii() and code.isdigit()):
        return False
    total = sum((ord(c) - 48) * (3 if i % 2 else 1) for i, c in enumerate(code[:12]))
    return (10 - total % 10) % 10 == ord(code[12]) - 48


def _record_id(record: Record) -> str | None:
    value = record.get("f_codigo")
    if isinstance(value, str):
        return value.strip() or None
    if value is None:
        return None
    try:
        return _as_text(value)
    except Bad:
        return None


class HandWritten:
    """kong and wms written by hand: same rules, same outputs, same issues as the compiled modules."""

    def __init__(self, product: str) -> None:
        self.product = product
        self.file = f"{product}.map"
        self.lines = _map_lines(product)

    def _issue(self, field: str, value: Any, reason: str) -> Record:
        return {
            "record_id": None,
            "field": field,
            "file": self.file,
            "line": self.lines[field],
            "value": value,
            "reason": reason,
            "severity": "error",
            "action": "reject",
        }

    def _text(
        self, record: Record, key: str, field: str, issues: list[Record], required: bool
    ) -> tuple[str | None, bool]:
        raw = record.get(key)
        value = _clean(raw)
        if value is None:
            if required:
                issues.append(self._issue(field, raw, "is required but missing"))
                return None, False
            return None, True
        try:
            return _as_text(value), True
        except Bad as exc:
            issues.append(self._issue(field, raw, exc.args[0]))
            return None, False

    def to_canonical(self, record: Record) -> Outcome:
        if not isinstance(record, dict):
            return None, [self._issue("id", record, "the record is not a JSON object")]
        issues: list[Record] = []
        ok = True
        product_id, good = self._text(record, "f_codigo", "id", issues, True)
        ok &= good
        if product_id is not None:
            if not 1 <= len(product_id) <= 64:
                issues.append(
                    self._issue("id", record.get("f_codigo"), "must be 1 to 64 characters long")
                )
                product_id, ok = None, False
            elif _ID_CHARS.fullmatch(product_id) is None:
                issues.append(
                    self._issue("id", record.get("f_codigo"), 'does not match "^[A-Za-z0-9._-]+$"')
                )
                product_id, ok = None, False
        external_id, good = self._text(record, "f_codigo_externo", "external_id", issues, True)
        ok &= good
        name, good = self._text(record, "f_nombre", "name", issues, True)
        ok &= good
        if name is not None and not 1 <= len(name) <= 200:
            issues.append(
                self._issue("name", record.get("f_nombre"), "must be 1 to 200 characters long")
            )
            name, ok = None, False
        display_name, good = self._text(record, "f_nombre_corto", "display_name", issues, False)
        if display_name is None and good:
            display_name, good = self._text(record, "f_nombre", "display_name", issues, False)
        ok &= good
        ean, good = self._text(record, "f_ean", "ean", issues, False)
        ok &= good
        if ean is not None:
            if _EAN_DIGITS.fullmatch(ean) is None:
                issues.append(
                    self._issue("ean", record.get("f_ean"), 'does not match "^[0-9]{13}$"')
                )
                ean, ok = None, False
            elif not _ean13_ok(ean):
                issues.append(
                    self._issue(
                        "ean",
                        record.get("f_ean"),
                        "is not a valid EAN-13 (13 digits with a valid check digit)",
                    )
                )
                ean, ok = None, False
        sku, good = self._text(record, "f_referencia", "sku", issues, False)
        ok &= good
        category, good = self._text(record, "f_categoria", "category", issues, False)
        ok &= good
        raw_quantity = record.get("f_cantidad")
        quantity = _clean(raw_quantity)
        if quantity is None:
            issues.append(self._issue("stock_quantity", raw_quantity, "is required but missing"))
            ok = False
        else:
            try:
                quantity = _as_int(quantity)
                if quantity < 0:
                    raise Bad("must be >= 0")
            except Bad as exc:
                issues.append(self._issue("stock_quantity", raw_quantity, exc.args[0]))
                quantity, ok = None, False
        canonical: Record = {
            "id": product_id,
            "external_id": external_id,
            "name": name,
            "display_name": display_name,
            "ean": ean,
            "sku": sku,
            "category": category,
            "stock_quantity": quantity,
        }
        if self.product == "kong":
            rfid, good = self._text(record, "f_tag_rfid", "rfid_tag_id", issues, False)
            ok &= good
            if rfid is not None:
                rfid = rfid.upper()
                if _RFID.fullmatch(rfid) is None:
                    issues.append(
                        self._issue(
                            "rfid_tag_id",
                            record.get("f_tag_rfid"),
                            'does not match "^[0-9A-F]{16,32}$"',
                        )
                    )
                    rfid, ok = None, False
            canonical["rfid_tag_id"] = rfid
        else:
            raw_location = record.get("f_ubicacion")
            location, good = self._text(record, "f_ubicacion", "warehouse_location", issues, True)
            ok &= good
            if location is not None:
                match = _ERP_LOCATION.fullmatch(location.upper())
                if match is None:
                    issues.append(
                        self._issue(
                            "warehouse_location",
                            raw_location,
                            'does not have the shape "{zone:A}-{aisle:99}-{shelf:99}"',
                        )
                    )
                    location, ok = None, False
                else:
                    location = match[1] + match[2] + match[3]
                    if _WMS_LOCATION.fullmatch(location) is None:
                        issues.append(
                            self._issue(
                                "warehouse_location",
                                raw_location,
                                'does not match "^[A-Z][0-9]{4}$"',
                            )
                        )
                        location, ok = None, False
            canonical["warehouse_location"] = location
            zone, good = self._text(record, "f_zona", "warehouse_zone", issues, False)
            ok &= good
            canonical["warehouse_zone"] = zone
        color, good = self._text(record, "f_color", "custom:color", issues, False)
        ok &= good
        size, good = self._text(record, "f_talla", "custom:size", issues, False)
        ok &= good
        canonical["custom:color"] = color
        canonical["custom:size"] = size
        if issues:
            record_id = _record_id(record)
            for issue in issues:
                issue["record_id"] = record_id
        return (canonical if ok else None), issues

    def to_product(self, canonical: Record) -> Record:
        if self.product == "kong":
            product = {
                "product_id": canonical["id"],
                "external_reference": canonical["external_id"],
                "name": canonical["name"],
                "barcode": canonical["ean"],
                "quantity": canonical["stock_quantity"],
                "rfid_tag_id": canonical["rfid_tag_id"],
            }
        else:
            product = {
                "item_id": canonical["id"],
                "external_item_code": canonical["external_id"],
                "item_name": canonical["name"],
                "ean_code": canonical["ean"],
                "available_quantity": canonical["stock_quantity"],
                "location_code": canonical["warehouse_location"],
                "zone_id": canonical["warehouse_zone"],
            }
        attributes = {}
        if canonical["custom:color"] is not None:
            attributes["color"] = canonical["custom:color"]
        if canonical["custom:size"] is not None:
            attributes["size"] = canonical["custom:size"]
        if attributes:
            product["attributes"] = attributes
        return product

    def mapper(self) -> Mapper:
        return two_step_mapper(self.to_canonical, self.to_product)


# --- (b) a generic interpreter of the design document's field-mapping JSON ----------------------------

_COMMON_FIELDS: dict[str, Record] = {
    "id": {
        "siesa_field": "f_codigo",
        "type": "string",
        "required": True,
        "min_length": 1,
        "max_length": 64,
        "validation": "^[A-Za-z0-9._-]+$",
    },
    "external_id": {"siesa_field": "f_codigo_externo", "type": "string", "required": True},
    "name": {
        "siesa_field": "f_nombre",
        "type": "string",
        "required": True,
        "min_length": 1,
        "max_length": 200,
    },
    "display_name": {
        "siesa_field": ["f_nombre_corto", "f_nombre"],
        "type": "string",
        "required": False,
    },
    "ean": {
        "siesa_field": "f_ean",
        "type": "string",
        "required": False,
        "validation": "^[0-9]{13}$",
        "validator": "ean13",
    },
    "sku": {"siesa_field": "f_referencia", "type": "string", "required": False},
    "category": {"siesa_field": "f_categoria", "type": "string", "required": False},
    "stock_quantity": {
        "siesa_field": "f_cantidad",
        "type": "integer",
        "required": True,
        "minimum": 0,
    },
}
# field-mappings-kong.json and field-mappings-wms.json, with the same rules the .map files state.
FIELD_MAPPINGS: dict[str, Record] = {
    "kong": {
        "version": "1.0",
        "product_type": "kong",
        "mappings": {
            "product": {
                **{k: dict(v) for k, v in _COMMON_FIELDS.items()},
                "rfid_tag_id": {
                    "siesa_field": "f_tag_rfid",
                    "type": "string",
                    "required": False,
                    "transform": ["upper"],
                    "validation": "^[0-9A-F]{16,32}$",
                },
                "custom:color": {"siesa_field": "f_color", "type": "string", "required": False},
                "custom:size": {"siesa_field": "f_talla", "type": "string", "required": False},
            }
        },
        "product_fields": {
            "id": "product_id",
            "external_id": "external_reference",
            "name": "name",
            "ean": "barcode",
            "stock_quantity": "quantity",
            "rfid_tag_id": "rfid_tag_id",
            "custom:color": "attributes.color",
            "custom:size": "attributes.size",
        },
        "transformations": {
            "trim_strings": True,
            "empty_as_null": True,
            "date_format": {"from": "YYYY-MM-DD", "to": "ISO8601"},
        },
    },
    "wms": {
        "version": "1.0",
        "product_type": "wms",
        "mappings": {
            "product": {
                **{k: dict(v) for k, v in _COMMON_FIELDS.items()},
                "warehouse_location": {
                    "siesa_field": "f_ubicacion",
                    "type": "string",
                    "required": True,
                    "transform": ["upper", "location_format"],
                    "validation": "^[A-Z][0-9]{4}$",
                },
                "warehouse_zone": {"siesa_field": "f_zona", "type": "string", "required": False},
                "custom:color": {"siesa_field": "f_color", "type": "string", "required": False},
                "custom:size": {"siesa_field": "f_talla", "type": "string", "required": False},
            }
        },
        "product_fields": {
            "id": "item_id",
            "external_id": "external_item_code",
            "name": "item_name",
            "ean": "ean_code",
            "stock_quantity": "available_quantity",
            "warehouse_location": "location_code",
            "warehouse_zone": "zone_id",
            "custom:color": "attributes.color",
            "custom:size": "attributes.size",
        },
        "transformations": {
            "trim_strings": True,
            "empty_as_null": True,
            "date_format": {"from": "YYYY-MM-DD", "to": "ISO8601"},
            "location_format": {"from": "A-01-05", "to": "A0105"},
        },
    },
}


def _shape_regex(example: str) -> re.Pattern[str]:
    """ "A-01-05" -> a regex with one group per run of letters or digits, literal separators."""
    parts = re.findall(r"[A-Z]+|[0-9]+|.", example)
    pattern = "".join(
        f"([A-Z]{{{len(p)}}})"
        if p.isalpha()
        else f"([0-9]{{{len(p)}}})"
        if p.isdigit()
        else re.escape(p)
        for p in parts
    )
    return re.compile(pattern)


class Interpreter:
    """Walks a field-mapping document, pre-resolved once into callables per field."""

    def __init__(self, document: Record) -> None:
        self.lines = _map_lines(document["product_type"])
        settings = document["transformations"]
        self.trim = settings.get("trim_strings", False)
        self.empty_as_null = settings.get("empty_as_null", False)
        location = settings.get("location_format")
        self.location = _shape_regex(location["from"]) if location else None
        self.plan = [
            self._plan(name, spec) for name, spec in document["mappings"]["product"].items()
        ]
        self.targets = [
            (name, tuple(path.split("."))) for name, path in document["product_fields"].items()
        ]

    def _plan(self, name: str, spec: Record) -> tuple[Any, ...]:
        sources = spec["siesa_field"]
        sources = tuple(sources) if isinstance(sources, list) else (sources,)
        transforms = [self._transform(t) for t in spec.get("transform", [])]
        checks: list[tuple[Callable[[Any], bool], str]] = []
        if "min_length" in spec or "max_length" in spec:
            low, high = spec.get("min_length", 0), spec.get("max_length", 10**9)
            checks.append(
                (
                    lambda v, low=low, high=high: low <= len(v) <= high,
                    f"must be {low} to {high} characters long",
                )
            )
        if "validation" in spec:
            regex = re.compile(spec["validation"])
            checks.append(
                (
                    lambda v, regex=regex: regex.fullmatch(v) is not None,
                    f'does not match "{spec["validation"]}"',
                )
            )
        if spec.get("validator") == "ean13":
            checks.append((_ean13_ok, "is not a valid EAN-13 (13 digits with a valid check digit)"))
        if "minimum" in spec:
            minimum = spec["minimum"]
            checks.append((lambda v, minimum=minimum: v >= minimum, f"must be >= {minimum}"))
        convert = {"string": _as_text, "integer": _as_int}[spec["type"]]
        return (
            name,
            sources,
            spec["required"],
            tuple(transforms),
            convert,
            tuple(checks),
            self.lines[name],
        )

    def _transform(self, name: str) -> Callable[[str], str]:
        if name == "upper":
            return str.upper
        location = self.location
        assert name == "location_format" and location is not None

        def reshape(value: str) -> str:
            match = location.fullmatch(value)
            if match is None:
                raise Bad('does not have the shape "{zone:A}-{aisle:99}-{shelf:99}"')
            return "".join(match.groups())

        return reshape

    def _read(self, record: Record, key: str) -> Any:
        value = record.get(key)
        if isinstance(value, str):
            if self.trim:
                value = value.strip()
            if self.empty_as_null and not value:
                return None
        return value

    def to_canonical(self, record: Record) -> Outcome:
        issues: list[Record] = []
        canonical: Record = {}
        ok = True
        for name, sources, required, transforms, convert, checks, line in self.plan:
            raw = value = None
            for source in sources:
                raw = record.get(source)
                value = self._read(record, source)
                if value is not None:
                    break
            if value is None:
                if required:
                    issues.append(
                        {
                            "record_id": None,
                            "field": name,
                            "line": line,
                            "value": raw,
                            "reason": "is required but missing",
                            "severity": "error",
                            "action": "reject",
                        }
                    )
                    ok = False
                canonical[name] = None
                continue
            try:
                if transforms:
                    value = _as_text(value)
                    for transform in transforms:
                        value = transform(value)
                value = convert(value)
                for check, reason in checks:
                    if not check(value):
                        raise Bad(reason)
                canonical[name] = value
            except Bad as exc:
                issues.append(
                    {
                        "record_id": None,
                        "field": name,
                        "line": line,
                        "value": raw,
                        "reason": exc.args[0],
                        "severity": "error",
                        "action": "reject",
                    }
                )
                canonical[name] = None
                ok = False
        if issues:
            record_id = _record_id(record)
            for issue in issues:
                issue["record_id"] = record_id
        return (canonical if ok else None), issues

    def to_product(self, canonical: Record) -> Record:
        product: Record = {}
        for name, path in self.targets:
            value = canonical.get(name)
            if len(path) == 1:
                product[path[0]] = value
            elif value is not None:
                node = product
                for part in path[:-1]:
                    node = node.setdefault(part, {})
                node[path[-1]] = value
        return product

    def mapper(self) -> Mapper:
        return two_step_mapper(self.to_canonical, self.to_product)


# --- (c) pydantic v2 models -------------------------------------------------------------------------


def _clean_text(value: Any) -> Any:
    value = _clean(value)
    if value is None:
        return None
    try:
        return _as_text(value)
    except Bad as exc:
        raise ValueError(exc.args[0]) from None


def _clean_int(value: Any) -> Any:
    value = _clean(value)
    if value is None:
        return None
    try:
        return _as_int(value)
    except Bad as exc:
        raise ValueError(exc.args[0]) from None


def _ean_check(value: Any) -> Any:
    value = _clean_text(value)
    if value is not None and not _ean13_ok(value):
        raise ValueError("is not a valid EAN-13 (13 digits with a valid check digit)")
    return value


def _rfid(value: Any) -> Any:
    value = _clean_text(value)
    return None if value is None else value.upper()


def _location(value: Any) -> Any:
    value = _clean_text(value)
    if value is None:
        return None
    match = _ERP_LOCATION.fullmatch(value.upper())
    if match is None:
        raise ValueError('does not have the shape "{zone:A}-{aisle:99}-{shelf:99}"')
    return match[1] + match[2] + match[3]


Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Ean = Annotated[str, StringConstraints(pattern=r"^[0-9]{13}$")]
Rfid = Annotated[str, StringConstraints(pattern=r"^[0-9A-F]{16,32}$")]
Location = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9]{4}$")]
Quantity = Annotated[int, Ge(0)]
CleanText = BeforeValidator(_clean_text)


class _Canonical(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: Annotated[Id, CleanText] = Field(validation_alias="f_codigo")
    external_id: Annotated[str, CleanText] = Field(validation_alias="f_codigo_externo")
    name: Annotated[Name, CleanText] = Field(validation_alias="f_nombre")
    display_name: Annotated[str | None, CleanText] = Field(
        None, validation_alias="display_name_source"
    )
    ean: Annotated[Ean | None, BeforeValidator(_ean_check)] = Field(None, validation_alias="f_ean")
    sku: Annotated[str | None, CleanText] = Field(None, validation_alias="f_referencia")
    category: Annotated[str | None, CleanText] = Field(None, validation_alias="f_categoria")
    stock_quantity: Annotated[Quantity, BeforeValidator(_clean_int)] = Field(
        validation_alias="f_cantidad"
    )

    @model_validator(mode="before")
    @classmethod
    def _display_name(cls, data: Any) -> Any:
        if isinstance(data, dict):
            shown = _clean(data.get("f_nombre_corto"))
            data = {
                **data,
                "display_name_source": shown if shown is not None else data.get("f_nombre"),
            }
        return data


class KongModel(_Canonical):
    rfid_tag_id: Annotated[Rfid | None, BeforeValidator(_rfid)] = Field(
        None, validation_alias="f_tag_rfid"
    )
    custom_color: Annotated[str | None, CleanText] = Field(
        None, validation_alias="f_color", serialization_alias="custom:color"
    )
    custom_size: Annotated[str | None, CleanText] = Field(
        None, validation_alias="f_talla", serialization_alias="custom:size"
    )

    def to_product(self) -> Record:
        product: Record = {
            "product_id": self.id,
            "external_reference": self.external_id,
            "name": self.name,
            "barcode": self.ean,
            "quantity": self.stock_quantity,
            "rfid_tag_id": self.rfid_tag_id,
        }
        return _with_attributes(product, self.custom_color, self.custom_size)


class WmsModel(_Canonical):
    warehouse_location: Annotated[Location, BeforeValidator(_location)] = Field(
        validation_alias="f_ubicacion"
    )
    warehouse_zone: Annotated[str | None, CleanText] = Field(None, validation_alias="f_zona")
    custom_color: Annotated[str | None, CleanText] = Field(
        None, validation_alias="f_color", serialization_alias="custom:color"
    )
    custom_size: Annotated[str | None, CleanText] = Field(
        None, validation_alias="f_talla", serialization_alias="custom:size"
    )

    def to_product(self) -> Record:
        product: Record = {
            "item_id": self.id,
            "external_item_code": self.external_id,
            "item_name": self.name,
            "ean_code": self.ean,
            "available_quantity": self.stock_quantity,
            "location_code": self.warehouse_location,
            "zone_id": self.warehouse_zone,
        }
        return _with_attributes(product, self.custom_color, self.custom_size)


def _with_attributes(product: Record, color: str | None, size: str | None) -> Record:
    attributes = {
        key: value for key, value in (("color", color), ("size", size)) if value is not None
    }
    if attributes:
        product["attributes"] = attributes
    return product


def pydantic_mapper(model: type[KongModel] | type[WmsModel]) -> Mapper:
    fields = {field.validation_alias: name for name, field in model.model_fields.items()}
    canonical_names = {
        name: field.serialization_alias or name for name, field in model.model_fields.items()
    }
    fields["display_name_source"] = "display_name"

    def run(record: Record) -> tuple[Record | None, Record | None, list[Record]]:
        try:
            item = model.model_validate(record)
        except ValidationError as exc:
            issues = []
            for error in exc.errors():
                name = fields.get(error["loc"][0], str(error["loc"][0])) if error["loc"] else "id"
                issues.append(
                    {
                        "field": canonical_names.get(name, name),
                        "reason": error["msg"],
                        "severity": "error",
                    }
                )
            return None, None, issues
        return item.model_dump(by_alias=True), item.to_product(), []

    return run


# --- (d) an expression-heavy version 2 mapping, compiled and hand-written ---------------------------

EXPRESSIONS_MAP = Path(__file__).resolve().with_name("expressions.map")
_SKIP_RULE = 'skip when f_activo == "N"'
_SLUG = re.compile(r"[^A-Za-z0-9]+")
_THOUSAND = Decimal(1000)
_VAT = Decimal("1.19")
_GRAMS = Decimal("0.001")
_CENTS = Decimal("0.01")


def expression_records(records: list[Record], seed: int) -> list[Record]:
    """The Siesa records with a weight in grams and a type code, for expressions.map.

    Copies, so the kong and wms passes read the records they always did; a
    tenth of the items inactive (skipped), weights as the ERP writes them
    (ints, floats, "1.250,5", now and then empty or no number at all).
    """
    rng = random.Random(seed + 1)
    out: list[Record] = []
    for record in records:
        record = dict(record)
        record["f_activo"] = rng.choices(["S", "N", ""], weights=[80, 10, 10])[0]
        grams = rng.randrange(1, 50_000)
        weight = rng.choices(
            [
                grams,
                str(grams),
                f"{grams // 1000}.{grams % 1000:03d},{rng.randrange(10)}",
                grams + 0.5,
                "",
                None,
                "n/a",
            ],
            weights=[30, 25, 20, 10, 8, 6, 1],
        )[0]
        if weight is not None:
            record["F PESO G"] = weight
        if rng.random() < 0.9:
            record["f_tipo"] = rng.choice(["S", "P", "P", "X", " P "])
        out.append(record)
    return out


def _as_decimal(value: Any) -> Decimal:
    if isinstance(value, str):
        text = value.strip()
        if _AMBIGUOUS.fullmatch(text):
            raise Bad("is an ambiguous number: the dot may group thousands or mark decimals")
        if _PLAIN.fullmatch(text):
            return Decimal(text)
        if _GROUPED.fullmatch(text):
            return Decimal(text.replace(".", "").replace(",", "."))
        raise Bad("is not a number")
    if value is True or value is False or not isinstance(value, int | float):
        raise Bad(f"is {_kind(value)}, not a decimal number")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Bad("is not a finite number")
        return Decimal(repr(value))
    return Decimal(value)


class Unreadable:
    """A column whose value could not be converted: it fails every field that reads it."""

    __slots__ = ("raw", "reason")

    def __init__(self, raw: Any, reason: str) -> None:
        self.raw, self.reason = raw, reason


def _column(record: Record, key: str, name: str, convert: Callable[[Any], Any]) -> Any:
    """A declared column: trimmed, "" as missing, converted once; Unreadable when it cannot be."""
    raw = record.get(key)
    value = _clean(raw)
    if value is None:
        return None
    try:
        return convert(value)
    except Bad as exc:
        return Unreadable(raw, f"column {name} {exc.args[0]}")


def _unreadable(*columns: Any) -> Unreadable | None:
    for column in columns:
        if column.__class__ is Unreadable:
            return column  # type: ignore[no-any-return]
    return None


class HandWrittenExpressions:
    """expressions.map's rules as a developer would write them: factored into small helpers,
    decimal arithmetic, a missing part missing, and the same issues as the compiled module."""

    def __init__(self) -> None:
        lines = EXPRESSIONS_MAP.read_text(encoding="utf-8").splitlines()
        self.lines = {
            text.split()[1]: number
            for number, text in enumerate(lines, 1)
            if text.startswith("field ")
        }
        self.skip_line = next(n for n, text in enumerate(lines, 1) if text == _SKIP_RULE)

    def _fail(self, issues: list[Record], field: str, value: Any, reason: str) -> None:
        issues.append(
            {
                "record_id": None,
                "field": field,
                "file": "expressions.map",
                "line": self.lines[field],
                "value": value,
                "reason": reason,
                "severity": "error",
                "action": "reject",
            }
        )

    def _rule(self, record: Record, reason: str, action: str) -> Outcome:
        issue = {
            "record_id": _record_id(record),
            "field": None,
            "file": "expressions.map",
            "line": self.skip_line,
            "value": None,
            "reason": reason,
            "severity": "info" if action == "skip" else "error",
            "action": action,
        }
        return None, [issue]

    def to_canonical(self, record: Record) -> Outcome:
        if not isinstance(record, dict):
            issue = {"record_id": None, "field": None, "file": "expressions.map", "line": None}
            issue |= {"value": record, "reason": "the record is not a JSON object"}
            return None, [issue | {"severity": "error", "action": "reject"}]
        codigo = _column(record, "f_codigo", "f_codigo", _as_text)
        nombre = _column(record, "f_nombre", "f_nombre", _as_text)
        talla = _column(record, "f_talla", "f_talla", _as_text)
        corto = _column(record, "f_nombre_corto", "f_nombre_corto", _as_text)
        peso = _column(record, "F PESO G", "f_peso_g", _as_decimal)
        precio = _column(record, "f_precio", "f_precio", _as_decimal)
        tipo = _column(record, "f_tipo", "f_tipo", _as_text)
        activo = _column(record, "f_activo", "f_activo", _as_text)
        cantidad = _column(record, "f_cantidad", "f_cantidad", _as_int)
        color = _column(record, "f_color", "f_color", _as_text)
        if activo.__class__ is Unreadable:
            return self._rule(record, f"cannot decide `{_SKIP_RULE}`: {activo.reason}", "reject")
        if activo == "N":
            return self._rule(record, _SKIP_RULE, "skip")

        issues: list[Record] = []
        fail = self._fail
        raw = record.get("f_codigo")
        product_id = _clean(raw)
        if product_id is None:
            fail(issues, "id", raw, "is required but missing")
        else:
            try:
                product_id = _as_text(product_id)
                if not 1 <= len(product_id) <= 64:
                    raise Bad("must be 1 to 64 characters long")
            except Bad as exc:
                fail(issues, "id", raw, exc.args[0])
                product_id = None

        name = display_name = weight = price = kind = family = slug = quantity = shade = None
        if bad := _unreadable(nombre, talla):
            fail(issues, "name", bad.raw, bad.reason)
        else:
            name = " ".join(part for part in (nombre, talla) if part is not None)
            if not 1 <= len(name) <= 200:
                fail(issues, "name", None, "must be 1 to 200 characters long")
                name = None
        if bad := _unreadable(corto, nombre):
            fail(issues, "display_name", bad.raw, bad.reason)
        else:
            display_name = corto if corto is not None else nombre
        if peso.__class__ is Unreadable:
            fail(issues, "custom:peso_kg", peso.raw, peso.reason)
        elif peso is not None:
            weight = format((peso / _THOUSAND).quantize(_GRAMS, ROUND_HALF_UP), "f")
        if precio.__class__ is Unreadable:
            fail(issues, "custom:precio_iva", precio.raw, precio.reason)
        elif precio is not None:
            price = format((precio * _VAT).quantize(_CENTS, ROUND_HALF_UP), "f")
        if tipo.__class__ is Unreadable:
            fail(issues, "custom:tipo", tipo.raw, tipo.reason)
        else:
            kind = "servicio" if tipo == "S" else "producto" if tipo == "P" else "otro"
        if codigo.__class__ is Unreadable:
            fail(issues, "custom:familia", codigo.raw, codigo.reason)
        elif codigo is not None:
            family = codigo[:4].upper()
        if nombre.__class__ is Unreadable:
            fail(issues, "custom:slug", nombre.raw, nombre.reason)
        elif nombre is not None:
            slug = _SLUG.sub("-", nombre).lower()
        if cantidad.__class__ is Unreadable:
            fail(issues, "stock_quantity", cantidad.raw, cantidad.reason)
        else:
            quantity = 0 if cantidad is None else cantidad
            if quantity < 0:
                fail(issues, "stock_quantity", None, "must be >= 0")
                quantity = None
        if color.__class__ is Unreadable:
            fail(issues, "custom:color", color.raw, color.reason)
        elif color is not None:
            shade = color.upper()

        if issues:
            record_id = _record_id(record)
            for issue in issues:
                issue["record_id"] = record_id
            return None, issues
        return {
            "id": product_id,
            "name": name,
            "display_name": display_name,
            "custom:peso_kg": weight,
            "custom:precio_iva": price,
            "custom:tipo": kind,
            "custom:familia": family,
            "custom:slug": slug,
            "stock_quantity": quantity,
            "custom:color": shade,
        }, issues

    def to_product(self, canonical: Record) -> Record:
        price = canonical["custom:precio_iva"]
        product: Record = {
            "product_id": canonical["id"],
            "name": canonical["name"],
            "display_name": canonical["display_name"],
            "price": None if price is None else Decimal(price),
            "quantity": canonical["stock_quantity"],
        }
        weight = canonical["custom:peso_kg"]
        attributes: Record = {} if weight is None else {"weight_kg": Decimal(weight)}
        for key, field in _NESTED_TEXTS:
            if canonical[field] is not None:
                attributes[key] = canonical[field]
        if attributes:
            product["attributes"] = attributes
        return product

    def mapper(self) -> Mapper:
        return two_step_mapper(self.to_canonical, self.to_product)


_NESTED_TEXTS = (
    ("kind", "custom:tipo"),
    ("family", "custom:familia"),
    ("slug", "custom:slug"),
    ("color", "custom:color"),
)


def compiled_expressions() -> ModuleType:
    """benchmarks/expressions.map through the compiler, imported from the generated text."""
    from compiler.pipeline import compile_file

    return compile_file(EXPRESSIONS_MAP, root=EXPRESSIONS_MAP.parent).load().module


# --- comparing and timing ---------------------------------------------------------------------------------


def _summary(outcome: tuple[Record | None, Record | None, list[Record]]) -> tuple[Any, ...]:
    canonical, product, issues = outcome
    return canonical, product, tuple(sorted({(str(i["field"]), i["severity"]) for i in issues}))


def check_agreement(records: list[Record], mappers: dict[str, Mapper]) -> dict[str, int]:
    """Stop with a message unless every implementation gives the same outputs for every record."""
    names = list(mappers)
    reference = names[0]
    rejected = skipped = 0
    for index, record in enumerate(records):
        outcomes = {name: mappers[name](record) for name in names}
        if outcomes["hand-written"] != outcomes[reference]:
            raise SystemExit(
                f"record {index}: hand-written and compiled differ:\n{outcomes['hand-written']}\n{outcomes[reference]}"
            )
        expected = _summary(outcomes[reference])
        for name in names[1:]:
            if _summary(outcomes[name]) != expected:
                raise SystemExit(
                    f"record {index}: {name} and {reference} differ:\n{_summary(outcomes[name])}\n{expected}\n{record}"
                )
        canonical, _, issues = outcomes[reference]
        if issues and issues[0]["action"] == "skip":
            skipped += 1
        elif canonical is None:
            rejected += 1
    return {"records": len(records), "rejected": rejected, "skipped": skipped}


def best_rates(mappers: dict[str, Mapper], records: list[Record], repeat: int) -> dict[str, float]:
    """Records per second of each implementation, best of `repeat` passes.

    Passes are interleaved (one pass of each implementation per round), so
    that a change in the machine's load affects all of them alike.
    """
    best = dict.fromkeys(mappers, float("inf"))
    for _ in range(repeat):
        for name, mapper in mappers.items():
            start = time.perf_counter()
            for record in records:
                mapper(record)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: len(records) / seconds for name, seconds in best.items()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20250115)
    args = parser.parse_args(list(argv) if argv is not None else None)

    records = siesa_records(args.records, args.seed)
    modules = compiled_modules()
    print(
        f"machine: {os.cpu_count()} CPU(s), {_cpu_model()}; Python {platform.python_version()} ({platform.python_implementation()})"
    )
    print(
        f"records: {len(records):,} (seed {args.seed}), best of {args.repeat} passes, to_canonical + to_product per record\n"
    )
    header = f"{'product':<8}{'implementation':<16}{'records/s':>12}{'vs compiled':>13}"
    print(header)
    print("-" * len(header))
    for product, model in (("kong", KongModel), ("wms", WmsModel)):
        mappers: dict[str, Mapper] = {
            "compiled": compiled_mapper(modules[product]),
            "hand-written": HandWritten(product).mapper(),
            "interpreter": Interpreter(FIELD_MAPPINGS[product]).mapper(),
            "pydantic": pydantic_mapper(model),
        }
        _compare_and_time(product, mappers, records, args.repeat)
    expression_mappers: dict[str, Mapper] = {
        "compiled": compiled_mapper(compiled_expressions()),
        "hand-written": HandWrittenExpressions().mapper(),
    }
    _compare_and_time(
        "exprs", expression_mappers, expression_records(records, args.seed), args.repeat
    )


def _compare_and_time(
    label: str, mappers: dict[str, Mapper], records: list[Record], repeat: int
) -> None:
    """Check that the implementations agree on every record, then time them and print rates."""
    counts = check_agreement(records, mappers)
    rates = best_rates(mappers, records, repeat)
    for name, rate in rates.items():
        print(f"{label:<8}{name:<16}{rate:>12,.0f}{rates['compiled'] / rate:>12.2f}x")
    skipped = f", {counts['skipped']:,} skipped" if counts["skipped"] else ""
    print(
        f"{'':<8}({counts['rejected']:,} rejected{skipped} of {counts['records']:,} records; all {len(mappers)} agree on every record)"
    )
    print(f"{'':<8}compiled / hand-written = {rates['compiled'] / rates['hand-written']:.2f}\n")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
