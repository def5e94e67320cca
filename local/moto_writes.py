"""DynamoDB writes on the embedded AWS, one at a time, as DynamoDB does them per item.

DynamoDB checks a write's condition and applies the write as one step: of two
conditional writes on an item, one sees the other's result. moto 5.2.5 reads
the item, evaluates the condition and writes in separate steps, without a
lock, and its server answers on many threads: two racing writes can both
pass a condition only one of them should. The request budgets
(runtime/budgets.py) and the run-id guard of the clients table rely on that
step being one, so while `atomic_writes()` is active every write of moto's
DynamoDB backend holds one lock. Leaving the context restores moto.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
"""The backend's methods that check a condition and then write."""

_lock = threading.RLock()


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    return write


@contextmanager
def atomic_writes() -> Iterator[None]:
    """While open, moto's DynamoDB writes run one at a time (its reads are left alone)."""
    originals = {name: getattr(DynamoDBBackend, name) for name in WRITES}
    for name, method in originals.items():
        setattr(DynamoDBBackend, name, _serialised(method))
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(DynamoDBBackend, name, method)
