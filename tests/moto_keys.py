"""moto makes a KMS key's RSA key pair when the key is created; here, when it is first used.

moto 5.2.5 generates a 2048-bit RSA pair for every KMS key it creates,
symmetric ones included (`moto.kms.models.Key.__init__`), though only Sign,
Verify and GetPublicKey ever read it. Every provisioned stack makes several
keys (the stack's secrets and signing keys, DynamoDB's default key), and each
pair costs a tenth to half a second of CPU: across the suite's engines that is
tens of seconds spent on keys nothing signs with. Deferring the generation to
the first use changes no answer: a key that signs gets its own pair, made
once (under one lock, so concurrent first uses agree on it).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

_MODULE = "moto.kms.models"
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


class _DeferOnImport(importlib.abc.MetaPathFinder):
    """Patches moto's KMS models as they are imported (no import of moto when a run needs none)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            _defer(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def defer_kms_key_pairs() -> None:
    """From now on, moto's KMS keys make their key pair on first use (see the module docstring)."""
    if _MODULE in sys.modules:
        _defer(sys.modules[_MODULE])
    elif not any(isinstance(finder, _DeferOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _DeferOnImport())
