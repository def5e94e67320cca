"""The run's cache for its adapters, kept in the run store under the run's own prefix.

What the page loaders give their adapters (runtime/adapters/run_cache.py):
a document named `wms-zones` is `runs/{client_id}/{run_id}/wms-zones.json`
(docs/architecture.md, the run data table), written and read through the
client's run store like every other object of the run, so a run's cache is
never another client's or another run's.
"""

from __future__ import annotations

import re
from typing import Any

from runtime.runstore import RunStore, run_prefix

NAME_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""A cached document's name: one key segment, no way out of the run's prefix."""


class StoredRunCache:
    """A `RunCache` of one run, in its run store."""

    def __init__(self, store: RunStore, client_id: str, run_id: str) -> None:
        self.store = store
        self.prefix = run_prefix(client_id, run_id)

    def key(self, name: str) -> str:
        """Where the document `name` is kept: `runs/{c}/{r}/{name}.json`."""
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError(f"a run cache name is lowercase words joined by '-', got {name!r}")
        return f"{self.prefix}{name}.json"

    def get(self, name: str) -> Any | None:
        """The document an adapter of this run put under `name`, None when there is none yet."""
        return self.store.get_json_if_present(self.key(name))

    def put(self, name: str, document: Any) -> None:
        """Keep `document` for the run's other page loaders."""
        self.store.put_json(self.key(name), document)
