"""The only two ways a value gets into generated code: `py` (a literal) and `ident` (a name).

`py` writes a Python literal with `repr()`, for a whitelist of types only, so
any text from a `.map` file (field names, sources, regexes, defaults) becomes
an inert string literal. `ident` accepts only `Ident` values, which only the
code generator creates; user text can never become a name.
"""

from __future__ import annotations

import re
from decimal import Decimal

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_INT_BITS = 13_000  # about 4,000 digits: past that, str() of an int refuses


class Ident(str):
    """A Python identifier made by the code generator (never from user text)."""

    __slots__ = ()

    def __new__(cls, value: str) -> Ident:
        if not _IDENT.fullmatch(value):
            raise ValueError(f"not an identifier: {value!r}")
        return super().__new__(cls, value)


class UnsafeLiteral(TypeError):
    """A value of a type that the `py` filter does not write into generated code."""


def _sort_key(value: object) -> tuple[str, str]:
    return (type(value).__name__, repr(value))


def py(value: object) -> str:
    """A Python literal for str, int, bool, None, Decimal and tuples/frozensets/dicts of them."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return repr(value)
    if kind is int:
        assert isinstance(value, int)
        if value.bit_length() > MAX_INT_BITS:
            raise UnsafeLiteral("integer too large for a literal")
        return repr(value)
    if kind is Decimal:
        assert isinstance(value, Decimal)
        if not value.is_finite():
            raise UnsafeLiteral(f"not a finite Decimal: {value!r}")
        return f"Decimal({str(value)!r})"
    if kind is tuple:
        assert isinstance(value, tuple)
        items = [py(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if kind is frozenset:
        assert isinstance(value, frozenset)
        if not value:
            return "frozenset()"
        return "frozenset({" + ", ".join(py(item) for item in sorted(value, key=_sort_key)) + "})"
    if kind is dict:
        assert isinstance(value, dict)
        return "{" + ", ".join(f"{py(key)}: {py(item)}" for key, item in value.items()) + "}"
    raise UnsafeLiteral(f"refusing to write a {kind.__name__} into generated code")


def ident(value: object) -> str:
    """A name for generated code; only `Ident` values made by the generator are accepted."""
    if type(value) is not Ident:
        raise UnsafeLiteral(f"not a generated identifier: {value!r}")
    return str(value)
