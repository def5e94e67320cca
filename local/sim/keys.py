"""The API keys a simulator accepts, each naming the tenant whose data it reaches."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Mapping

DEFAULT_TENANT = "default"


class KeyRing:
    """Key -> tenant, thread-safe, changeable at run time; lookups compare in constant time.

    Keys are secrets: nothing here prints, logs or returns them.
    """

    def __init__(self, keys: Mapping[str, str] | str, *, tenant: str = DEFAULT_TENANT) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {keys: tenant} if isinstance(keys, str) else dict(keys)

    def tenant_for(self, key: str | None) -> str | None:
        """The tenant of an accepted key, or None for a missing or unknown key."""
        if key is None:
            return None
        with self._lock:
            items = list(self._keys.items())
        found = None
        for known, tenant in items:  # compare against every key: no early exit
            if hmac.compare_digest(key.encode(), known.encode()):
                found = tenant
        return found

    def add(self, key: str, tenant: str = DEFAULT_TENANT) -> None:
        """Accept a key for a tenant."""
        with self._lock:
            self._keys[key] = tenant

    def revoke(self, key: str) -> None:
        """Stop accepting a key (a credential revoked mid-run)."""
        with self._lock:
            self._keys.pop(key, None)

    def tenants(self) -> list[str]:
        """The tenants some key reaches, sorted."""
        with self._lock:
            return sorted(set(self._keys.values()))
