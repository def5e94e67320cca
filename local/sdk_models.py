"""The AWS SDK's service models, read once per engine process rather than once per session.

botocore parses a service's JSON models (hundreds of KB each) once per
session, and the runtime makes a new session for each client on the ambient
credentials. In one long-lived process that is paid once per client; in the
local engine's Lambda sandbox (`lambda_sandbox`) every invocation is a fresh
fork whose clients are all new, so it was paid on every invocation (most of
a child's cost: about 0.3 s per client on the shared machine). While
`shared_models()` is active, `JSONFileLoader.load_file` answers each path
from one process-wide cache (and `Loader.list_available_services`, which walks
every model directory, each search path), and `preload` fills it in the engine's process
before any child is forked, so the children inherit the parsed models.

botocore already shares a loaded model between every client of one session;
this shares it between sessions too. Leaving the context restores botocore.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.loaders import JSONFileLoader, Loader

SERVICES = ("s3", "dynamodb", "sts", "secretsmanager", "kms", "sns", "stepfunctions")
"""The services the handlers call (runtime/), preloaded for the sandbox's children."""

_lock = threading.Lock()
_cache: dict[str, Any] = {}
_listings: dict[tuple[tuple[str, ...], str], list[str]] = {}
_active: list[bool] = []


@contextmanager
def shared_models() -> Iterator[None]:
    """Parse each SDK model file once in this process until the block ends."""
    with _lock:
        if _active:  # one engine per process (lambda_dispatch refuses a second one)
            raise RuntimeError("SDK models are already shared in this process")
        _active.append(True)
        original = JSONFileLoader.load_file
        original_listing = Loader.list_available_services

        def load_file(self: JSONFileLoader, file_path: str) -> Any:
            found = _cache.get(file_path)
            if found is None:
                found = original(self, file_path)
                if found is not None:
                    _cache[file_path] = found
            return found

        def list_available_services(self: Loader, type_name: str) -> list[str]:
            key = (tuple(self.search_paths), type_name)
            found = _listings.get(key)
            if found is None:
                found = _listings[key] = list(original_listing(self, type_name))
            return list(found)

        JSONFileLoader.load_file = load_file
        Loader.list_available_services = list_available_services
    try:
        yield
    finally:
        with _lock:
            JSONFileLoader.load_file = original
            Loader.list_available_services = original_listing
            _cache.clear()
            _listings.clear()
            _active.clear()


def preload(region: str, endpoint_url: str, services: Iterable[str] = SERVICES) -> None:
    """Make one client per service, so the models its clients need are parsed here."""
    for service in services:
        boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint_url)
