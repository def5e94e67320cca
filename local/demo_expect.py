"""What the products should hold, computed apart from the workflow, and the check against it.

The mappings are compiled here from the `.map` files with the compiler and
applied to the ERP's records as its API serves them (REST records, or
Connekta rows): a record the mapping accepts must be in the product exactly
as `to_product` builds it, unless the product refused it, in which case a
run must have reported it as a failed record; a record the mapping rejects
must be absent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.loaded import LoadedMapping

PRODUCT_FIELDS_COMPARED_AS_OBJECTS = ("attributes",)
"""Nested targets: `to_product` leaves them out when empty, the products store `{}`."""


def compile_mappings(sources: Sequence[Path]) -> dict[str, LoadedMapping]:
    """Compile `.map` files with the compiler and load each one, as a bundle, by mapping name."""
    from compiler.bundle import compile_all

    return {compiled.mapping.name: compiled.load() for _, compiled in compile_all(list(sources))}


@dataclass(frozen=True)
class Expectation:
    """What one client's product should hold, by record id."""

    products: dict[str, dict[str, Any]]
    rejected: dict[str, list[str]]
    skipped: frozenset[str] = frozenset()
    """Ids of the records the mapping skips: never loaded, so the product must not hold them."""

    def accepted(self, record_id: str) -> bool:
        """The mapping accepts the record."""
        return record_id in self.products


def rest_record_id(record: Mapping[str, Any]) -> str:
    """The id of a record of Siesa's REST dialect: its trimmed `f_codigo`."""
    return str(record.get("f_codigo", "")).strip()


def expect(
    mapping: LoadedMapping,
    records: Iterable[Mapping[str, Any]],
    record_id: Callable[[Mapping[str, Any]], str] = rest_record_id,
) -> Expectation:
    """Apply a compiled mapping to ERP records: product records, and the rejects with reasons.

    Each record goes through `map_record`, as in the transform stage: it may
    become several product records (one per line), none (skipped: the product
    must not gain it), or be rejected whole or line by line. `record_id` names
    a record rejected whole; a rejected line is named by its own id, and an
    accepted record by the canonical id the mapping builds.
    """
    products: dict[str, dict[str, Any]] = {}
    rejected: dict[str, list[str]] = {}
    skipped: set[str] = set()
    for record in records:
        canonicals, issues = mapping.map_record(dict(record))
        for canonical in canonicals:
            products[str(canonical["id"])] = mapping.to_product(canonical)
        if not canonicals and any(issue.get("action") == "skip" for issue in issues):
            skipped.add(record_id(record))
            continue
        for issue in issues:
            if issue.get("severity") != "error":
                continue
            name = record_id(record) if issue.get("part") is None else str(issue.get("record_id"))
            rejected.setdefault(name, []).append(f"{issue.get('field')}: {issue.get('reason')}")
    return Expectation(products=products, rejected=rejected, skipped=frozenset(skipped))


def _same(field_name: str, held: Any, wanted: Any) -> bool:
    if field_name in PRODUCT_FIELDS_COMPARED_AS_OBJECTS:
        return (held or {}) == (wanted or {})
    return bool(held == wanted)


def differing_fields(held: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """Fields of the expected product record the held one does not match."""
    names = dict.fromkeys([*wanted, *PRODUCT_FIELDS_COMPARED_AS_OBJECTS])
    return [name for name in names if not _same(name, held.get(name), wanted.get(name))]


@dataclass
class Verification:
    """How one client's product compares with its expectation."""

    client_id: str
    held: int = 0
    matching: int = 0
    refused_and_reported: int = 0
    rejected_and_absent: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Everything the product holds is what the mapping says, and nothing is unaccounted for."""
        return not self.problems


def verify(
    client_id: str,
    expectation: Expectation,
    store: Mapping[str, Mapping[str, Any]],
    refused: Mapping[str, str],
) -> Verification:
    """Compare a product's store with the expectation; `refused` holds product-stage failures."""
    result = Verification(client_id=client_id, held=len(store))
    for record_id, wanted in sorted(expectation.products.items()):
        held = store.get(record_id)
        if held is None:
            if record_id in refused:
                result.refused_and_reported += 1
            else:
                result.problems.append(
                    f"{record_id}: the mapping accepts it, but the product lacks it and no run "
                    "reported it as failed"
                )
            continue
        differing = differing_fields(held, wanted)
        if differing:
            result.problems.append(
                f"{record_id}: the product holds other values for {', '.join(differing)}"
            )
        else:
            result.matching += 1
    for record_id in sorted(set(store) - set(expectation.products)):
        if record_id in expectation.skipped:
            result.problems.append(f"{record_id}: the mapping skips it, but the product holds it")
        elif record_id in expectation.rejected:
            reasons = "; ".join(expectation.rejected[record_id])
            result.problems.append(
                f"{record_id}: the mapping rejects it ({reasons}), but the product holds it"
            )
        else:
            result.problems.append(
                f"{record_id}: the product holds it, but the ERP has no such record"
            )
    result.rejected_and_absent = sum(1 for rid in expectation.rejected if rid not in store)
    return result
