"""Two costs of moto that answer nothing: both patched as moto's modules are imported.

1. KMS key pairs. moto 5.2.5 generates a 2048-bit RSA pair for every KMS key it creates,
symmetric ones included (`moto.kms.models.Key.__init__`), though only Sign,
Verify and GetPublicKey ever read it. Every provisioned stack makes several
keys (the stack's secrets and signing keys, DynamoDB's default key), and each
pair costs a tenth to half a second of CPU: across the suite's engines that is
tens of seconds spent on keys nothing signs with. Deferring the generation to
the first use changes no answer: a key that signs gets its own pair, made
once (under one lock, so concurrent first uses agree on it).

2. The list of moto's services. moto's server, on every request, lists its
package folder and stats each of ~150 entries to learn whether the request's
service is one of its own (`moto.backends.list_of_moto_modules`, called by
`DomainDispatcherApplication.get_backend_for_host`): 0.2-0.6 ms of CPU per
request, thousands of requests per workflow run. The installed package does
not change while a process runs, so the list is read once.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

_first_use = threading.Lock()


class DeferredPrivateKey:
    """Stands for moto's private key of one KMS key; makes the real one on first attribute use."""

    def __init__(self, make: Callable[[str], Any], key_spec: str) -> None:
        self._make = make
        self._key_spec = key_spec
        self._key: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy/pickle probes: not the key's business
            raise AttributeError(name)
        with _first_use:
            if self._key is None:
                self._key = self._make(self._key_spec)
        return getattr(self._key, name)


def _defer(models: Any) -> None:
    """Make `models.generate_private_key` (what Key.__init__ calls) return a deferred key."""
    make = models.generate_private_key
    if getattr(make, "deferred", False):
        return

    def generate_private_key(key_spec: str) -> Any:
        return DeferredPrivateKey(make, key_spec)

    generate_private_key.deferred = True  # type: ignore[attr-defined]
    models.generate_private_key = generate_private_key


def _list_once(backends: Any) -> None:
    """Make `backends.list_of_moto_modules` (read by moto's request dispatcher) list the folder once."""
    listing = backends.list_of_moto_modules
    if getattr(listing, "once", False):
        return
    names = tuple(listing())

    def list_of_moto_modules() -> Iterator[str]:
        return iter(names)

    list_of_moto_modules.once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


_PATCHES: dict[str, Callable[[Any], None]] = {
    "moto.kms.models": _defer,
    "moto.backends": _list_once,
}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches moto's modules as they are imported (no import of moto when a run needs none)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        patch = _PATCHES.get(fullname)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def patch_moto() -> None:
    """Apply both patches (see the module docstring) now or when moto's modules are imported."""
    for name, patch in _PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])
    if not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
