"""The adapter registry: product type -> adapter class.

Adapters register themselves with `@register("kong")`; the registry imports
the built-in adapter modules lazily so that config validation can ask which
product types exist without importing HTTP code first: a built-in product
type is known by its module's name (found, not imported), and its module is
imported when its adapter class is first asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from runtime.adapters.base import ProductAdapter

BUILTIN_ADAPTERS = {"kong": "runtime.adapters.kong", "wms": "runtime.adapters.wms"}
"""Built-in product type -> the module whose class registers under that name."""
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
        cls.product_type = product_type
        return cls

    return decorate


def unregister(product_type: str) -> None:
    """Forget the adapter of `product_type` (for plugins loaded and unloaded at run time, and tests)."""
    _REGISTRY.pop(product_type, None)


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


def _available_builtins() -> frozenset[str]:
    """Built-in product types whose module is there, without importing it (and its HTTP stack)."""
    return frozenset(
        name
        for name, module in BUILTIN_ADAPTERS.items()
        if name in _REGISTRY or importlib.util.find_spec(module) is not None
    )


def registered_product_types() -> frozenset[str]:
    """Every product type an adapter is registered for, or a built-in module will register."""
    return frozenset(_REGISTRY) | _available_builtins()


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
