"""A loaded mapping: the module the compiler generated, checked against its manifest entry.

`load_mapping` is the only way from bytes to a `LoadedMapping`. Before any
of the module runs, its bytes' SHA-256 is compared with the entry and what
the module declares in `MAPPING` (read from its text as a literal, never
executed) must agree with the entry, so an entry edited to point at another
valid module is caught before that module runs too. Then the module runs,
must offer the mapping interface (`to_canonical`, `map_record`,
`to_product`, `MAPPING`), and the `MAPPING` it ends with must be the one its
text declared. The bundle's signature is checked before all of this, by the
reader of the bundle (runtime/mapping_loader.py).
Callers use the typed accessors, never the module's attributes.
"""

from __future__ import annotations

import ast
import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from contract.codeloader import load_module
from contract.errors import BundleContractError, BundleTamperedError
from contract.manifest import ManifestEntry

REQUIRED_CALLABLES = ("to_canonical", "map_record", "to_product")
AGREEING_FIELDS = ("product_type", "version", "source", "source_sha256", "compiler_version")
"""Fields a manifest entry and its module's MAPPING both carry; they must agree."""

Record = dict[str, Any]
Issue = dict[str, Any]

_PARSE_LOCK = threading.Lock()
"""CPython 3.11's `ast.parse` keeps its recursion depth in shared state: two threads parsing at
once can fail with `SystemError: AST constructor recursion depth mismatch` (the demo loads
mappings from several threads). One parse at a time."""


@dataclass(frozen=True, slots=True)
class LoadedMapping:
    """A generated mapping module and the manifest entry it was loaded and checked against."""

    module: ModuleType
    entry: ManifestEntry

    @property
    def sha256(self) -> str:
        """SHA-256 of the module's bytes (what run reports record as `mapping_sha256`)."""
        return self.entry.module_sha256

    @property
    def name(self) -> str:
        """The mapping's name."""
        return self.entry.name

    @property
    def declaration(self) -> Mapping[str, Any]:
        """The module's `MAPPING`: name, product type, version, source and bases, compiler version."""
        declared: Mapping[str, Any] = self.module.MAPPING
        return declared

    @property
    def product_type(self) -> str:
        """The product the mapping is for (its declaration's, else the entry's)."""
        declared = self.declaration.get("product_type")
        return declared if isinstance(declared, str) else self.entry.product_type

    @property
    def fields(self) -> tuple[Mapping[str, Any], ...]:
        """The module's `FIELDS` (each with its canonical name, `.map` file and line); () if none."""
        return tuple(getattr(self.module, "FIELDS", ()))

    @property
    def line_map(self) -> Mapping[int, int]:
        """The module's `LINE_MAP`: generated line -> `.map` line; empty if it has none."""
        found = getattr(self.module, "LINE_MAP", None)
        return found if isinstance(found, Mapping) else {}

    def to_canonical(self, record: object) -> tuple[Record | None, list[Issue]]:
        """A Siesa record -> (the canonical record or None when rejected, the issues found).

        Anything but a JSON object is rejected by the mapping with its reason.
        """
        canonical, issues = self.module.to_canonical(record)
        return canonical, issues

    def map_record(self, record: object) -> tuple[list[Record], list[Issue]]:
        """A Siesa record -> (the canonical records it becomes, the issues found).

        One-to-one mappings give one record or none; a one-to-many mapping one
        per good line. No record and a `skip` issue: the record is skipped (not
        a failure); no record otherwise: rejected (docs/architecture.md).
        """
        records, issues = self.module.map_record(record)
        return list(records), list(issues)

    def to_product(self, canonical: Record) -> Record:
        """A canonical record -> the product's record."""
        product: Record = self.module.to_product(canonical)
        return product


def sha256_hex(data: bytes) -> str:
    """SHA-256 of `data`, lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def load_mapping(
    source: bytes, entry: ManifestEntry, *, name: str, origin: str, where: str
) -> LoadedMapping:
    """Check `source` against `entry` without running it, then run it and check the interface.

    `name` is the mapping asked for (the module must declare it); `origin`
    names the module's file and `where` the manifest in messages.
    BundleTamperedError when the hash or the declaration differs from the
    entry: the module is then never run. BundleContractError when the module
    declares no literal `MAPPING`, does not load, or lacks the interface.
    """
    actual = sha256_hex(source)
    if actual != entry.module_sha256:
        raise BundleTamperedError(
            f"mapping module {origin} has SHA-256 {actual}, but the manifest "
            f"says {entry.module_sha256}: refused, not imported"
        )
    declared = declared_mapping(source, origin)
    check_declaration(declared, entry, name, where)
    module = load_module(source, name, actual, origin)
    missing = [attr for attr in REQUIRED_CALLABLES if not callable(getattr(module, attr, None))]
    if missing:
        raise BundleContractError(f"mapping module {origin} lacks {', '.join(missing)}")
    if getattr(module, "MAPPING", None) != declared:
        raise BundleTamperedError(
            f"mapping module {origin} changes its MAPPING while it loads: refused"
        )
    return LoadedMapping(module, entry)


def declared_mapping(source: bytes, origin: str) -> dict[str, Any]:
    """The module's top-level `MAPPING = {...}`, read from its text as a literal (nothing runs).

    BundleContractError when the text does not parse or has no such literal
    (generated modules always have one, written with the `py` filter).
    """
    try:
        with _PARSE_LOCK:
            tree = ast.parse(source.decode("utf-8"), filename=origin)
    except (UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise BundleContractError(f"mapping module {origin} does not compile: {exc}") from None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "MAPPING"
        ):
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                break
            if isinstance(value, dict):
                return value
            break
    raise BundleContractError(f"mapping module {origin} lacks MAPPING (a literal dict)")


def check_agreement(mapping: LoadedMapping, name: str, where: str) -> None:
    """A loaded module is mapping `name` and says what its entry says; BundleTamperedError otherwise."""
    check_declaration(mapping.declaration, mapping.entry, name, where)


def check_declaration(
    declared: Mapping[str, Any], manifest_entry: ManifestEntry, name: str, where: str
) -> None:
    """A module's `MAPPING` names mapping `name` and agrees with its entry; BundleTamperedError otherwise."""
    entry = manifest_entry.model_dump(mode="json")
    problems = []
    if "name" in declared and declared["name"] != name:
        problems.append(f"it is mapping {declared['name']!r}")
    for field in AGREEING_FIELDS:
        if field in declared and entry[field] != declared[field]:
            problems.append(
                f"its {field} is {declared[field]!r}, the manifest says {entry[field]!r}"
            )
    if problems:
        raise BundleTamperedError(
            f"{where}: the entry for mapping {name!r} names module {manifest_entry.module}, but "
            + "; ".join(problems)
            + ": the manifest was changed; refused"
        )
