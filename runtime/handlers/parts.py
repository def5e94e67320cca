"""A run's parts: what each Map iteration wrote, for the steps after the pages to add up.

A run mapped and loaded page by page (the workflow's Map state) leaves, per
extracted page N, a part `parts/{N:05d}/` (and `parts/retried/` for the
records retried from the client's retry state): the transformer's reports
and `transformed.json` (its counts and the ids it mapped), the loader's
`failed-records.ndjson`, `sent-records.ndjson` (what reached the product,
as the client's stock store keeps it) and `loaded.json` (its counts and the
ids it handled, loaded and skipped). Each is small: one page's worth.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from runtime.carryover import read_state
from runtime.runstore import PARTS_DIR, RunStore, part_prefix, run_prefix

TRANSFORMED = "transformed.json"
LOADED = "loaded.json"
SENT = "sent-records.ndjson"


def transformed_part_key(client_id: str, run_id: str, part: str) -> str:
    """The transformer's account of one part."""
    return part_prefix(client_id, run_id, part) + TRANSFORMED


def loaded_part_key(client_id: str, run_id: str, part: str) -> str:
    """The loader's account of one part."""
    return part_prefix(client_id, run_id, part) + LOADED


def sent_part_key(client_id: str, run_id: str, part: str) -> str:
    """The records one part sent, as the client's stock store keeps them (stock_store.sent_lines)."""
    return part_prefix(client_id, run_id, part) + SENT


def listed_pages(store: RunStore, client_id: str, run_id: str) -> list[str]:
    """The run's extracted pages, listed from S3 (a large run's events do not carry them)."""
    return sorted(store.list_keys(run_prefix(client_id, run_id) + "extracted/"))


@dataclass(frozen=True)
class Part:
    """What the transformer and the loader wrote of one part (`loaded` None: not loaded)."""

    name: str
    transformed: dict[str, Any] | None
    loaded: dict[str, Any] | None


def parts_of(store: RunStore, client_id: str, run_id: str) -> Iterator[Part]:
    """Every part of the run, in order (pages by number, then `retried`), one at a time."""
    prefix = run_prefix(client_id, run_id) + PARTS_DIR
    names = sorted(
        {key[len(prefix) :].split("/", 1)[0] for key in store.list_keys(prefix)},
        key=lambda name: (name == "retried", name),
    )
    for name in names:
        yield Part(
            name,
            store.get_json_if_present(transformed_part_key(client_id, run_id, name)),
            store.get_json_if_present(loaded_part_key(client_id, run_id, name)),
        )


def ids_in_parts(
    store: RunStore, client_id: str, run_id: str, mapping_sha256: str | None
) -> set[str]:
    """The ids due for retry that a page of this run mapped (its copy is at least as new).

    Memory holds the due ids, never every id of the run.
    """
    due = set(read_state(store, client_id).due(mapping_sha256))
    found: set[str] = set()
    if not due:
        return found
    for part in parts_of(store, client_id, run_id):
        if part.name != "retried" and part.transformed is not None:
            found.update(due.intersection(map(str, part.transformed.get("ids", []))))
    return found
