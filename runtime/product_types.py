"""Which product types exist: the built-in ones, and those an adapter has registered.

`runtime.config` validates a client's `product_type` against this list and
`runtime.adapters.registry` adds to it; this module imports neither, so the
imports flow one way (adapters -> config -> product_types). A built-in type
is known by its module's name (found, not imported), so validating a config
never imports an adapter or the HTTP stack.
"""

from __future__ import annotations

import importlib.util

BUILTIN_ADAPTERS = {"kong": "runtime.adapters.kong", "wms": "runtime.adapters.wms"}
"""Built-in product type -> the module whose class registers under that name."""

_registered: set[str] = set()


def add_registered(product_type: str) -> None:
    """Record that an adapter is now registered under `product_type` (the registry's call)."""
    _registered.add(product_type)


def discard_registered(product_type: str) -> None:
    """Record that `product_type` has no adapter any more (the registry's call)."""
    _registered.discard(product_type)


def _available_builtins() -> frozenset[str]:
    """Built-in product types whose module is there, without importing it (and its HTTP stack)."""
    return frozenset(
        name
        for name, module in BUILTIN_ADAPTERS.items()
        if name in _registered or importlib.util.find_spec(module) is not None
    )


def registered_product_types() -> frozenset[str]:
    """Every product type an adapter is registered for, or a built-in module will register."""
    return frozenset(_registered) | _available_builtins()


LEAVING_SCOPE_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "kong": {"zero_stock": ("quantity",), "mark_inactive": ("attributes", "active")},
    "wms": {"zero_stock": ("available_quantity",), "mark_inactive": ("attributes", "active")},
}
"""Per product, the stored field each leaving-scope choice changes (GET, change, PUT).

From the contracts: Kong's `quantity` and WMS's `available_quantity`; neither
has a status field, both keep custom fields in `attributes` (additionalProperties),
so inactive is `attributes.active: false`. A product not listed offers only `report`.
"""


def leaving_scope_field(product_type: str, choice: str) -> tuple[str, ...] | None:
    """The stored field `choice` changes for `product_type`; None when the product offers none."""
    return LEAVING_SCOPE_FIELDS.get(product_type, {}).get(choice)
