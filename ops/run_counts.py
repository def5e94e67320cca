"""What a run put into the product, read from its run-history item (pure).

`siesa status`, `siesa sync --wait` and `siesa run show` all count a run's
records the same way: loaded means reached the product, never "handled".
"""

from __future__ import annotations

from typing import Any

from runtime.sync_state import FINISHED_STATUSES


def records_loaded(item: dict[str, Any] | None) -> int | None:
    """Records the run put into the product; None when history cannot say.

    A stopped loader records what it loaded before it stopped; a run that
    never reached the loader loaded nothing; a finished run written before
    `records_loaded` existed loaded what it processed minus what failed.
    """
    if not item:
        return None
    loaded = item.get("records_loaded")
    if isinstance(loaded, int):
        return loaded
    processed, failed = item.get("records_processed"), item.get("records_failed")
    if item.get("status") in FINISHED_STATUSES and isinstance(processed, int):
        return processed - (failed if isinstance(failed, int) else 0)
    if item.get("status") in ("failed", "skipped") and "transformed_at" not in item:
        return 0
    return None
