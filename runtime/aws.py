"""boto3 clients, created once per container and reused across invocations.

Creating a client costs tens of milliseconds, so a warm Lambda keeps them.
The cache is keyed by region and endpoint as well as service, so pointing a
process at the embedded AWS (`AWS_ENDPOINT_URL`, which boto3 honours by
itself) or another region gets a fresh client instead of a stale one; and by
the access key of the credentials a client signs with: the function's own
(ambient) credentials, or a tenant session's (runtime/tenant_session.py).
Clients on given credentials come from one shared session and are dropped
with `forget_credentials` when those credentials are renewed. Every session
reads the SDK's data files (service models, endpoint rules, the endpoints
table: several MB of JSON) through one loader per process, kept across
`reset_clients` and forks: that data never changes, and parsing it again
for each session was a steady share of every invocation's CPU
(docs/benchmarks.md, "After one SDK loader per process").
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import create_loader

from runtime import settings

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30
)
AMBIENT = ""
"""The cache's access key for clients on the process's own credentials."""

_lock = threading.Lock()
_clients: dict[tuple[str, str, str, str], Any] = {}
_shared_session: boto3.session.Session | None = None
_DATA_LOADER = create_loader()
"""The SDK's data files, each read once in this process (the loader caches what it read)."""


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials a client signs with (never logged: no repr of the secret parts)."""

    access_key_id: str
    secret_access_key: str
    session_token: str

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={self.access_key_id!r})"


def endpoint_marker(service_name: str) -> str:
    """The endpoint override in force for a service (boto3 reads these variables itself)."""
    specific = f"AWS_ENDPOINT_URL_{service_name.upper().replace('-', '_')}"
    return os.environ.get(specific) or os.environ.get("AWS_ENDPOINT_URL") or ""


def client(
    service_name: str, *, region: str | None = None, credentials: Credentials | None = None
) -> Any:
    """A cached boto3 client for `service_name` in `region` (default: settings.aws_region()).

    It signs with `credentials` when given, else with the process's own (ambient) ones.
    """
    region_name = settings.aws_region(region)
    endpoint = endpoint_marker(service_name)
    access_key = credentials.access_key_id if credentials is not None else AMBIENT
    key = (service_name, region_name, endpoint, access_key)
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = _new_client(service_name, region_name, endpoint, credentials)
            _clients[key] = found
        return found


def _new_client(
    service_name: str, region_name: str, endpoint: str, credentials: Credentials | None
) -> Any:
    """A client on the ambient credentials (a fresh session: it resolves them), or on given ones."""
    global _shared_session
    if credentials is None:
        return new_session().client(service_name, region_name=region_name, config=_CLIENT_CONFIG)
    if _shared_session is None:
        _shared_session = new_session()
    return _shared_session.client(
        service_name,
        region_name=region_name,
        endpoint_url=endpoint or None,
        config=_CLIENT_CONFIG,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )


def new_session() -> boto3.session.Session:
    """A boto3 session reading the SDK's data through this process's one loader."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _DATA_LOADER)
    session = boto3.session.Session(botocore_session=core)
    paths = _DATA_LOADER.search_paths  # each boto3 session appends its data folder: once is enough
    paths[:] = dict.fromkeys(paths)
    return session


def forget_credentials(access_key_id: str) -> None:
    """Drop the clients that sign with these credentials (they were renewed or expired)."""
    with _lock:
        for key in [key for key in _clients if key[3] == access_key_id]:
            del _clients[key]


def reset_clients() -> None:
    """Forget every cached client (tests start each AWS mock with fresh clients)."""
    global _shared_session
    with _lock:
        _clients.clear()
        _shared_session = None


def _forget_in_forked_child() -> None:
    """A forked child (the local engine's Lambda sandbox) makes its own clients.

    The parent's clients pool the parent's sockets, and another thread of the
    parent may have held the lock at the fork: the child starts with neither.
    """
    global _lock, _shared_session
    _lock = threading.Lock()
    _clients.clear()
    _shared_session = None


os.register_at_fork(after_in_child=_forget_in_forked_child)
