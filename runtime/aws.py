"""boto3 clients, created once per container and reused across invocations.

Creating a client costs tens of milliseconds, so a warm Lambda keeps them.
The cache is keyed by region and endpoint as well as service, so pointing a
process at the embedded AWS (`AWS_ENDPOINT_URL`, which boto3 honours by
itself) or another region gets a fresh client instead of a stale one.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

from runtime import settings

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30
)
_lock = threading.Lock()
_clients: dict[tuple[str, str, str], Any] = {}


def _endpoint_marker(service_name: str) -> str:
    """The endpoint override in force for a service (boto3 reads these variables itself)."""
    specific = f"AWS_ENDPOINT_URL_{service_name.upper().replace('-', '_')}"
    return os.environ.get(specific) or os.environ.get("AWS_ENDPOINT_URL") or ""


def client(service_name: str, *, region: str | None = None) -> Any:
    """A cached boto3 client for `service_name` in `region` (default: settings.aws_region())."""
    region_name = settings.aws_region(region)
    key = (service_name, region_name, _endpoint_marker(service_name))
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = boto3.session.Session().client(
                service_name,
                region_name=region_name,
                config=_CLIENT_CONFIG,
            )
            _clients[key] = found
        return found


def reset_clients() -> None:
    """Forget every cached client (tests start each AWS mock with fresh clients)."""
    with _lock:
        _clients.clear()
