"""Lowering a typed expression (`expr_ir`) to the Python expression code a template writes.

The code is built from three kinds of pieces only: literals through `py`
(the same repr whitelist as the templates' filter), names through `ident`
(generated `Ident`s: column variables, constants, prelude helpers), and the
fixed operator text written here. The result is a `Code`, which the
templates' `code` filter alone accepts. Missing values are None: arithmetic
and functions go through prelude helpers that give None for a None operand,
`and`/`or`/`not` and `when` test `is True`, so a missing condition is false.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from compiler import expr_ir as x
from compiler.filters import Ident, UnsafeLiteral, ident, py


class Code(str):
    """Python expression code made by `lower_expr` (never user text)."""

    __slots__ = ()


def code(value: object) -> str:
    """The templates' filter for lowered expressions: only `Code` values pass."""
    if type(value) is not Code:
        raise UnsafeLiteral(f"not lowered expression code: {value!r}")
    return str(value)


_HELPER = {
    "add": "_add",
    "sub": "_sub",
    "mul": "_mul",
    "div": "_div",
    "lt": "_lt",
    "le": "_le",
    "gt": "_gt",
    "ge": "_ge",
}


class ExprLowering:
    """Emits expressions for one module: records the helpers, imports and constants they need.

    `names` maps a column (or a line key) to the local variable holding its
    value; `const(kind, value)` names a module constant; `zone()` names the
    mapping's time zone constant.
    """

    def __init__(
        self,
        names: Mapping[str, Ident],
        helpers: set[str],
        imports: set[str],
        const: Callable[[str, object], Ident],
        zone: Callable[[], Ident],
    ) -> None:
        self.names = names
        self.helpers = helpers
        self.imports = imports
        self.const = const
        self.zone = zone

    def emit(self, expr: x.Expr) -> Code:
        """The code of `expr`, a Python expression."""
        return Code(self._bare(expr))

    def emit_condition(self, expr: x.Expr) -> Code:
        """The code of a condition, to be followed by `is True` (its parentheses kept)."""
        return Code(self._emit(expr))

    def _bare(self, expr: x.Expr) -> str:
        """`expr` where a whole expression stands (a call's argument): no parentheses of its own."""
        code = self._emit(expr)
        wrapped = isinstance(expr, x.Bin | x.Not | x.When) or (
            isinstance(expr, x.Call) and expr.function == "coalesce"
        )
        if wrapped and code.startswith("("):
            return code[1:-1]
        return code

    def _helper(self, name: str) -> str:
        self.helpers.add(name)
        return ident(Ident(name))

    def _call(self, name: str, *args: str) -> str:
        return f"{self._helper(name)}({', '.join(args)})"

    def _literal(self, value: object) -> str:
        if isinstance(value, Decimal):
            # a module constant: building a Decimal from its text costs more than the arithmetic
            self.imports.add("Decimal")
            return ident(self.const("decimal", value))
        return py(value)

    def _moment(self, code: str, type_name: x.ExprType) -> str:
        """Datetimes compare as moments: a local one is in the mapping's zone."""
        if type_name != "datetime":
            return code
        return self._call("_moment", code, ident(self.zone()))

    def _emit(self, expr: x.Expr) -> str:
        if isinstance(expr, x.Lit):
            return self._literal(expr.value)
        if isinstance(expr, x.Col):
            return ident(self.names[expr.name])
        if isinstance(expr, x.Not):
            return f"({self._emit(expr.operand)} is not True)"
        if isinstance(expr, x.Neg):
            return self._call("_neg", self._bare(expr.operand))
        if isinstance(expr, x.Bin):
            return self._binary(expr)
        if isinstance(expr, x.When):
            return self._when(expr)
        return self._function(expr)

    def _binary(self, expr: x.Bin) -> str:
        left, right = self._emit(expr.left), self._emit(expr.right)
        if expr.op in ("and", "or"):
            return f"({left} is True {expr.op} {right} is True)"
        if expr.op not in ("eq", "ne") or expr.operands == "datetime":
            # the operands become arguments of a helper call: no parentheses of their own
            left, right = self._bare(expr.left), self._bare(expr.right)
        left = self._moment(left, expr.operands)
        right = self._moment(right, expr.operands)
        if expr.op in ("eq", "ne"):
            # true, false and null compare by identity (what linters ask of generated code too)
            singleton = any(
                isinstance(side, x.Lit) and side.type in ("bool", "null")
                for side in (expr.left, expr.right)
            )
            if singleton:
                return f"({left} {'is' if expr.op == 'eq' else 'is not'} {right})"
            return f"({left} {'==' if expr.op == 'eq' else '!='} {right})"
        return self._call(_HELPER[expr.op], left, right)

    def _when(self, expr: x.When) -> str:
        code = "None" if expr.otherwise is None else self._emit(expr.otherwise)
        for condition, value in reversed(expr.branches):
            then = self._emit(value)
            test = self._emit(condition)
            if then == code:  # `when c then a else a` is `a`
                continue
            if (then, code) == ("True", "False"):
                code = f"({test} is True)"
            elif (then, code) == ("False", "True"):
                code = f"({test} is not True)"
            else:
                code = f"({then} if {test} is True else {code})"
        return code

    def _function(self, expr: x.Call) -> str:
        name = expr.function
        args = [self._bare(arg) for arg in expr.args]
        helper = f"_fn_{name}"
        if (
            name == "coalesce"
            and all(isinstance(arg, x.Col) for arg in expr.args[:-1])
            and isinstance(expr.args[-1], x.Col | x.Lit)
        ):
            return self._coalesce(args)
        if name == "join":
            parts = args[1:]
            packed = f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
            return self._call(helper, args[0], packed)
        if name == "round":
            scale, mode = expr.consts
            return self._call(helper, args[0], py(scale), py(mode))
        if name == "replace_regex":
            pattern, replacement = expr.consts
            regex = self.const("re2_groups", pattern)
            return self._call(helper, args[0], ident(regex), py(replacement))
        if name == "to_utc":
            zone, gap, overlap = expr.consts
            return self._call(
                helper, args[0], ident(self.const("zone", zone)), py(gap), py(overlap)
            )
        return self._call(helper, *args)

    @staticmethod
    def _coalesce(codes: list[str]) -> str:
        """`coalesce(col, ..., col or literal)` as conditional expressions rather than a call:
        the first column that is not None, else the last argument. A column given again adds
        nothing (it was None the first time) and would be a useless test: it is left out."""
        unique = list(dict.fromkeys(codes))
        code = unique[-1]
        for text in reversed(unique[:-1]):
            code = f"({text} if {text} is not None else {code})"
        return code
