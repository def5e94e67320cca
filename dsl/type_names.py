"""The types a field may declare: one list for the parser's messages and the compiler's checks."""

from __future__ import annotations

from typing import Literal, get_args

TypeName = Literal["string", "int", "decimal", "bool", "date", "datetime"]
TYPE_NAMES: tuple[TypeName, ...] = get_args(TypeName)
"""Every type name, in the order messages list them."""
