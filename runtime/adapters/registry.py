"""The adapter registry: product type -> adapter class.

Adapters register themselves with `@register("kong")`, which also adds the
name to `runtime.product_types`, the list config validation asks without
importing any adapter. The registry imports a built-in adapter module when
its class is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from runtime.product_types import BUILTIN_ADAPTERS, add_registered, discard_registered

if TYPE_CHECKING:
    from runtime.adapters.base import ProductAdapter

BUILTIN_ADAPTER_MODULES = tuple(BUILTIN_ADAPTERS.values())

_REGISTRY: dict[str, type[ProductAdapter]] = {}
_loaded = False

A = TypeVar("A", bound="type[ProductAdapter]")


def register(product_type: str) -> Callable[[A], A]:
    """Class decorator: make an adapter available under `product_type`.

    Registering a second class under a taken name is refused: two modules
    claiming one product type is a packaging mistake, not an override.
    """

    def decorate(cls: A) -> A:
        existing = _REGISTRY.get(product_type)
        if existing is not None and (existing.__module__, existing.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise ValueError(
                f"product type {product_type!r} is already registered to {existing.__qualname__}"
            )
        _REGISTRY[product_type] = cls
        add_registered(product_type)
        cls.product_type = product_type
        return cls

    return decorate


def unregister(product_type: str) -> None:
    """Forget the adapter of `product_type` (for plugins loaded and unloaded at run time, and tests)."""
    _REGISTRY.pop(product_type, None)
    discard_registered(product_type)


def _import_builtin(module: str) -> None:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:  # adapters still being written
        if exc.name != module:
            raise


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_ADAPTER_MODULES:
            _import_builtin(module)


def get_adapter_class(product_type: str) -> type[ProductAdapter]:
    """The adapter class for a product type; UnknownProductType when there is none."""
    from runtime.errors import UnknownProductType

    if product_type not in _REGISTRY and product_type in BUILTIN_ADAPTERS:
        _import_builtin(BUILTIN_ADAPTERS[product_type])
    if product_type not in _REGISTRY:
        _load_builtins()
    try:
        return _REGISTRY[product_type]
    except KeyError:
        raise UnknownProductType(
            f"unknown product type {product_type!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None
