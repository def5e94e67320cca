"""A client's state documents beside its runs (retry state, live ids): written by the newest run only."""

from __future__ import annotations

from typing import Any

from contract import jsontext
from runtime.runstore import RunStore


def store_unless_newer(
    store: RunStore, key: str, *, stored_run_id: str | None, run_id: str | None, document: Any
) -> bool:
    """Put `document` at `key` unless a newer run wrote what is there; False when one did.

    Run ids sort by start time, so an older run ending late never overwrites a newer run's state.
    """
    if stored_run_id is not None and run_id is not None and stored_run_id > run_id:
        return False
    store.put_bytes(
        key,
        jsontext.dumps(document).encode("utf-8"),
        content_type="application/json",
    )
    return True
