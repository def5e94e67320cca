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

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from runtime.carryover import read_state
from runtime.runstore import PARTS_DIR, RunStore, part_prefix, run_prefix

TRANSFORMED = "transformed.json"
LOADED = "loaded.json"
SENT = "sent-records.ndjson"
PART_READERS = 8
"""Parts read at once by the steps after the pages (S3 requests wait on the network)."""


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
    """Every part of the run, in order (pages by number, then `retried`).

    One listing says which accounts each part has (no request for those it
    lacks); PART_READERS parts are read at once ahead of the caller, and no
    more than twice that many wait in memory: one page's worth each.
    """
    prefix = run_prefix(client_id, run_id) + PARTS_DIR
    files: dict[str, set[str]] = {}
    for key in store.list_keys(prefix):
        name, _, file = key[len(prefix) :].partition("/")
        files.setdefault(name, set()).add(file)
    names = sorted(files, key=lambda name: (name == "retried", name))

    def read(name: str) -> Part:
        def account(file: str) -> dict[str, Any] | None:
            return (
                store.get_json(part_prefix(client_id, run_id, name) + file)
                if file in files[name]
                else None
            )

        return Part(name, account(TRANSFORMED), account(LOADED))

    with ThreadPoolExecutor(max_workers=PART_READERS) as pool:
        waiting: deque[Future[Part]] = deque()
        for name in names:
            waiting.append(pool.submit(read, name))
            if len(waiting) >= 2 * PART_READERS:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()


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
