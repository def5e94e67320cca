"""What the adapters of one run share: small documents read from the product once per run.

A run loaded page by page opens one adapter per page (one loader invocation
each), so what an adapter would read from the product once (WMS: its zones)
would be read once per page. The handler gives each page's adapter a
`RunCache`: the first adapter to need a document reads it from the product
and puts it there; the others get it from there instead. Pages running at
once may each read it from the product before one has put it: at most one
read per page running at once, never wrong, since each puts what it read.

The adapter knows only this protocol; the handler's cache keeps the
documents under the run's own prefix in the run store
(runtime/handlers/run_cache.py), and tests can give a dict. A document got
from the cache is checked as the product's answer is, and refused when it
breaks the contract: the cache is never trusted more than the product.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from runtime.errors import RunDataError
from runtime.http.api import BodyCheck


class RunCache(Protocol):
    """Named JSON documents kept for the rest of one run."""

    def get(self, name: str) -> Any | None:
        """The document put under `name` in this run, None when there is none yet."""

    def put(self, name: str, document: Any) -> None:
        """Keep `document` under `name` for the run's other adapters."""


def read_once_per_run(
    cache: RunCache | None, name: str, read: Callable[[], Any], check: BodyCheck
) -> Any:
    """The run's document `name`: from `cache` when an adapter put it, else `read()` and put.

    `read` returns a document that passes `check` (it reads the product and
    checks its answer); one got from the cache that does not pass it is
    refused with RunDataError, as the product's own answer would be. Without
    a cache (a whole-run load, a test, an ops command) this is `read()`.
    """
    if cache is None:
        return read()
    stored = cache.get(name)
    if stored is not None:
        problem = check(stored)
        if problem is not None:
            raise RunDataError(f"the run's stored {name} is refused: {problem}")
        return stored
    document = read()
    cache.put(name, document)
    return document
