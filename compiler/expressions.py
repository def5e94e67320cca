"""Typing expressions at compile time: an AST expression -> a typed `expr_ir` tree, or diagnostics.

A type error is found here, never at run time: `f_nombre + 1` is an error with
the caret under the `+`; an unknown function or column is an error with a
did-you-mean; a wrong argument count points at the call, a wrong argument at
the argument. Every problem of an expression is reported, then None returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo, available_timezones

from compiler import expr_ir as x
from compiler import prelude
from compiler.problems import Problems
from compiler.regexes import regex_error
from dsl import ast
from dsl.suggest import did_you_mean

ROUNDING_MODES = {
    "half_up": "ROUND_HALF_UP",
    "half_even": "ROUND_HALF_EVEN",
    "half_down": "ROUND_HALF_DOWN",
    "up": "ROUND_UP",
    "down": "ROUND_DOWN",
    "ceiling": "ROUND_CEILING",
    "floor": "ROUND_FLOOR",
}
GAP_POLICIES = ("shift_forward", "reject")
OVERLAP_POLICIES = ("earlier", "later", "reject")
MAX_ROUND_SCALE = 20

# name -> how it is written, for messages
SIGNATURES = {
    "coalesce": "coalesce(a, b, ...)",
    "text": "text(x)",
    "upper": "upper(s)",
    "lower": "lower(s)",
    "trim": "trim(s)",
    "length": "length(s)",
    "substring": "substring(s, start, length)",
    "replace_regex": 'replace_regex(s, "PATTERN", "REPLACEMENT")',
    "join": "join(separator, a, b, ...)",
    "round": "round(x, SCALE, MODE)",
    "year": "year(d)",
    "month": "month(d)",
    "day": "day(d)",
    "add_days": "add_days(d, n)",
    "to_utc": 'to_utc(t, "Area/City", gap=shift_forward|reject, overlap=earlier|later|reject)',
}
# name -> (the type it gives, what it does in one line), for people (the editor's hover);
# a test keeps its keys those of SIGNATURES.
FUNCTION_DOCS = {
    "coalesce": ("its arguments' type", "the first argument that is not missing"),
    "text": ("string", "any value as text: numbers in plain notation, dates in ISO 8601"),
    "upper": ("string", "the text in uppercase"),
    "lower": ("string", "the text in lowercase"),
    "trim": ("string", "the text without white space at both ends"),
    "length": ("int", "the number of characters"),
    "substring": ("string", "`length` characters from position `start`, counting from 1 (SQL)"),
    "replace_regex": ("string", "every match of the pattern (RE2) replaced; `\\1` inserts group 1"),
    "join": ("string", "the strings that are not missing, joined by the separator"),
    "round": ("decimal", "the number with SCALE digits after the point, rounded by MODE"),
    "year": ("int", "the year of a date or datetime"),
    "month": ("int", "the month of a date or datetime"),
    "day": ("int", "the day of the month of a date or datetime"),
    "add_days": ("the type of d", "a date or datetime n days later (earlier for negative n)"),
    "to_utc": ("datetime", "a local datetime, read as wall-clock time in that zone, as UTC"),
}
# name -> (least, most) arguments; most None: any number
_ARITY: dict[str, tuple[int, int | None]] = {
    "coalesce": (2, None),
    "text": (1, 1),
    "upper": (1, 1),
    "lower": (1, 1),
    "trim": (1, 1),
    "length": (1, 1),
    "substring": (3, 3),
    "replace_regex": (3, 3),
    "join": (2, None),
    "round": (3, 3),
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
    "add_days": (2, 2),
    "to_utc": (2, 2),
}
_VERBS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}
_OPS: dict[str, x.BinaryOp] = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "==": "eq",
    "!=": "ne",
    "<": "lt",
    "<=": "le",
    ">": "gt",
    ">=": "ge",
    "and": "and",
    "or": "or",
}
_DATES = frozenset({"date", "datetime"})


def literal_type(value: object) -> x.ExprType:
    """The type of a literal's value."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "int"
    return "decimal"


def unify(left: x.ExprType, right: x.ExprType) -> x.ExprType | None:
    """The one type two values can share (int and decimal: decimal; null fits any), or None."""
    if left == right or right == "null":
        return left
    if left == "null":
        return right
    if {left, right} == {"int", "decimal"}:
        return "decimal"
    return None


def accepts(field_type: str, value_type: x.ExprType) -> bool:
    """Whether a field of `field_type` takes a value of `value_type` (an int fits a decimal)."""
    return value_type in (field_type, "null") or (field_type == "decimal" and value_type == "int")


class Typer:
    """Types the expressions of one file against the columns in scope."""

    def __init__(self, columns: Mapping[str, x.ExprType], path: str, problems: Problems) -> None:
        self.columns = columns
        self.path = path
        self.problems = problems
        self.used: set[str] = set()

    def _error(self, span: ast.Span, message: str, hint: str | None = None) -> None:
        self.problems.error(self.path, span, message, hint)

    def check(self, node: ast.Expr) -> x.Expr | None:
        """The typed expression, or None after reporting every problem in it."""
        before = len(self.problems.found)
        typed = self._expr(node)
        return typed if typed is not None and len(self.problems.found) == before else None

    def condition(self, node: ast.Expr, what: str) -> x.Expr | None:
        """A condition (`skip when`, `when ... then`): it must be a bool."""
        typed = self.check(node)
        if typed is not None and typed.type not in ("bool", "null"):
            self._error(
                node.span,
                f"{what} must be true or false, but this is {_a(typed.type)}",
                'compare it, e.g. `f_activo == "N"`',
            )
            return None
        return typed

    # --- nodes ------------------------------------------------------------------

    def _expr(self, node: ast.Expr) -> x.Expr | None:
        if isinstance(node, ast.Literal):
            return x.Lit(node.value, literal_type(node.value))
        if isinstance(node, ast.Group):
            return self._expr(node.inner)
        if isinstance(node, ast.ColumnRef):
            return self._column(node)
        if isinstance(node, ast.Unary):
            return self._unary(node)
        if isinstance(node, ast.Binary):
            return self._binary(node)
        if isinstance(node, ast.When):
            return self._when(node)
        return self._call(node)

    def _column(self, node: ast.ColumnRef) -> x.Expr | None:
        name = node.name.text
        if name not in self.columns:
            hint = did_you_mean(name, self.columns)
            self._error(
                node.span,
                f"`{name}` is not a declared column; declare it with `column {name} TYPE`",
                hint,
            )
            return None
        self.used.add(name)
        return x.Col(name, self.columns[name])

    def _unary(self, node: ast.Unary) -> x.Expr | None:
        operand = self._expr(node.operand)
        if operand is None:
            return None
        if node.op == "not":
            if operand.type not in ("bool", "null"):
                self._error(node.op_span, f"`not` needs true or false, not {_a(operand.type)}")
                return None
            return x.Not(operand)
        if operand.type not in ("int", "decimal", "null"):
            self._error(node.op_span, f"cannot negate {_a(operand.type)}", "`-` needs a number")
            return None
        return x.Neg(operand, operand.type)

    def _binary(self, node: ast.Binary) -> x.Expr | None:
        left = self._expr(node.left)
        right = self._expr(node.right)
        if left is None or right is None:
            return None
        op = _OPS[node.op]
        a, b = left.type, right.type
        result = self._binary_type(node, a, b)
        if result is None:
            return None
        return x.Bin(op, left, right, result, unify(a, b) or a)

    def _binary_type(self, node: ast.Binary, a: x.ExprType, b: x.ExprType) -> x.ExprType | None:
        op = node.op
        shared = unify(a, b)
        if op in ("and", "or"):
            if shared not in ("bool", "null"):
                self._error(
                    node.op_span,
                    f"`{op}` joins true/false values, not {a} and {b}",
                    'compare first, e.g. `f_a == "S" and f_b > 0`',
                )
                return None
            return "bool"
        if op in ("==", "!="):
            if shared is None:
                self._error(node.op_span, f"cannot compare {a} and {b} with `{op}`", _convert(a, b))
                return None
            return "bool"
        if op in ("<", "<=", ">", ">="):
            if shared is None or shared in ("bool", "null"):
                self._error(node.op_span, f"cannot order {a} and {b} with `{op}`", _convert(a, b))
                return None
            return "bool"
        if op == "+" and shared == "string":
            return "string"
        if shared is not None and shared in ("int", "decimal", "null"):
            if op == "/" and shared != "null":
                return "decimal"
            return shared
        hint = _convert(a, b) if op == "+" else f"`{op}` works on numbers (int, decimal)"
        self._error(node.op_span, f"cannot {_VERBS[op]} {a} and {b}", hint)
        return None

    def _when(self, node: ast.When) -> x.Expr | None:
        branches: list[tuple[x.Expr, x.Expr]] = []
        result: x.ExprType = "null"
        ok = True
        values = [b.value for b in node.branches] + (
            [node.otherwise] if node.otherwise is not None else []
        )
        for branch in node.branches:
            condition = self.condition(branch.condition, "a `when` condition")
            value = self._expr(branch.value)
            if condition is None or value is None:
                ok = False
                continue
            branches.append((condition, value))
        otherwise = None if node.otherwise is None else self._expr(node.otherwise)
        typed_values = [value for _, value in branches] + (
            [otherwise] if otherwise is not None else []
        )
        if not ok or (node.otherwise is not None and otherwise is None):
            return None
        for value, source in zip(typed_values, values, strict=True):
            shared = unify(result, value.type)
            if shared is None:
                self._error(
                    source.span,
                    f"this branch is {_a(value.type)}, but an earlier one is {_a(result)}",
                    "every branch of a `when` gives the same type; convert with text(...)",
                )
                return None
            result = shared
        return x.When(tuple(branches), otherwise, result)

    # --- functions --------------------------------------------------------------

    def _call(self, node: ast.Call) -> x.Expr | None:
        name = node.function.text
        if name not in _ARITY:
            hint = did_you_mean(name, _ARITY) or "functions: " + ", ".join(sorted(_ARITY))
            self._error(node.function.span, f"unknown function `{name}`", hint)
            return None
        least, most = _ARITY[name]
        count = len(node.args)
        if count < least or (most is not None and count > most):
            wanted = str(least) if least == most else f"at least {least}"
            plural = "" if least == 1 and most == 1 else "s"
            self._error(
                node.span,
                f"`{name}` takes {wanted} argument{plural}, got {count}",
                f"write `{SIGNATURES[name]}`",
            )
            return None
        if node.options and name != "to_utc":
            self._error(node.options[0].span, f"`{name}` takes no options")
            return None
        special = {
            "replace_regex": self._replace_regex,
            "round": self._round,
            "to_utc": self._to_utc,
        }.get(name)
        if special is not None:
            return special(node)
        args = [self._expr(arg) for arg in node.args]
        if any(arg is None for arg in args):
            return None
        typed = [arg for arg in args if arg is not None]
        result = self._signature(node, typed)
        return None if result is None else x.Call(name, tuple(typed), (), result)

    def _want(
        self, node: ast.Call, index: int, arg: x.Expr, types: frozenset[str], words: str
    ) -> bool:
        if arg.type in types or arg.type == "null":
            return True
        self._error(
            node.args[index].span,
            f"argument {index + 1} of `{node.function.text}` is {_a(arg.type)}, but it needs {words}",
            f"write `{SIGNATURES[node.function.text]}`"
            + ("; convert with text(...)" if "string" in types else ""),
        )
        return False

    def _signature(self, node: ast.Call, args: list[x.Expr]) -> x.ExprType | None:
        name = node.function.text
        strings = frozenset({"string"})
        ints = frozenset({"int"})
        if name == "coalesce":
            result: x.ExprType = "null"
            for index, arg in enumerate(args):
                shared = unify(result, arg.type)
                if shared is None:
                    self._error(
                        node.args[index].span,
                        f"argument {index + 1} of `coalesce` is {_a(arg.type)}, "
                        f"but the ones before it are {_a(result)}",
                        "every argument of `coalesce` has the same type",
                    )
                    return None
                result = shared
            return result
        if name == "text":
            return "string"
        if name in ("upper", "lower", "trim", "length"):
            ok = self._want(node, 0, args[0], strings, "a string")
            return None if not ok else ("int" if name == "length" else "string")
        if name == "substring":
            ok = self._want(node, 0, args[0], strings, "a string")
            ok = self._want(node, 1, args[1], ints, "an int") and ok
            ok = self._want(node, 2, args[2], ints, "an int") and ok
            return "string" if ok else None
        if name == "join":
            ok = all(
                self._want(node, index, arg, strings, "a string") for index, arg in enumerate(args)
            )
            return "string" if ok else None
        if name in ("year", "month", "day"):
            ok = self._want(node, 0, args[0], _DATES, "a date or datetime")
            return "int" if ok else None
        # add_days
        ok = self._want(node, 0, args[0], _DATES, "a date or datetime")
        ok = self._want(node, 1, args[1], ints, "an int") and ok
        return args[0].type if ok else None

    def _string_literal(self, node: ast.Call, index: int, what: str) -> ast.Literal | None:
        arg = node.args[index]
        if isinstance(arg, ast.Literal) and isinstance(arg.value, str):
            return arg
        self._error(
            arg.span,
            f"argument {index + 1} of `{node.function.text}` is {what}: a string literal",
            f"write `{SIGNATURES[node.function.text]}`",
        )
        return None

    def _replace_regex(self, node: ast.Call) -> x.Expr | None:
        value = self._expr(node.args[0])
        pattern = self._string_literal(node, 1, "the regex")
        replacement = self._string_literal(node, 2, "the replacement")
        if value is None or pattern is None or replacement is None:
            return None
        if not self._want(node, 0, value, frozenset({"string"}), "a string"):
            return None
        assert isinstance(pattern.value, str) and isinstance(replacement.value, str)
        error = regex_error(pattern.value)
        if error is not None:
            if error.end is None:
                self._error(pattern.span, error.message, error.hint)
            else:
                self.problems.error_inside(
                    self.path, pattern, error.start, error.end, error.message, error.hint
                )
            return None
        groups = prelude._regex_groups(pattern.value).NumberOfCapturingGroups()
        parts = replacement_parts(replacement.value, groups)
        if isinstance(parts, str):
            self._error(
                replacement.span, parts, "write `\\\\1` for group 1, `\\\\\\\\` for a backslash"
            )
            return None
        return x.Call("replace_regex", (value,), (pattern.value, parts), "string")

    def _round(self, node: ast.Call) -> x.Expr | None:
        value = self._expr(node.args[0])
        scale_node, mode_node = node.args[1], node.args[2]
        ok = value is not None
        if value is not None:
            ok = self._want(node, 0, value, frozenset({"int", "decimal"}), "a number")
        scale = scale_node.value if isinstance(scale_node, ast.Literal) else None
        if (
            not isinstance(scale, int)
            or isinstance(scale, bool)
            or not 0 <= scale <= MAX_ROUND_SCALE
        ):
            self._error(
                scale_node.span,
                f"the scale of `round` is a whole number from 0 to {MAX_ROUND_SCALE}: "
                "the digits kept after the point",
                "e.g. `round(f_precio * 1.19, 2, half_up)`",
            )
            ok = False
        mode = mode_node.name.text if isinstance(mode_node, ast.ColumnRef) else None
        if mode not in ROUNDING_MODES:
            shown = "this" if mode is None else f"`{mode}`"
            self._error(
                mode_node.span,
                f"{shown} is not a rounding mode",
                (did_you_mean(mode, ROUNDING_MODES) if mode else None)
                or "modes: " + ", ".join(ROUNDING_MODES),
            )
            ok = False
        if not ok or value is None or mode is None:
            return None
        assert isinstance(scale, int)
        return x.Call("round", (value,), (scale, ROUNDING_MODES[mode]), "decimal")

    def _to_utc(self, node: ast.Call) -> x.Expr | None:
        value = self._expr(node.args[0])
        zone_literal = self._string_literal(node, 1, "the IANA time zone")
        ok = value is not None and self._want(node, 0, value, frozenset({"datetime"}), "a datetime")
        ok = zone_literal is not None and _zone_ok(zone_literal, self) and ok
        chosen: dict[str, str] = {}
        allowed = {"gap": GAP_POLICIES, "overlap": OVERLAP_POLICIES}
        for option in node.options:
            key, word = option.name.text, option.value.text
            if key not in allowed:
                self._error(
                    option.name.span,
                    f"`to_utc` has no option `{key}`",
                    did_you_mean(key, allowed) or "options: `gap=...`, `overlap=...`",
                )
                ok = False
            elif key in chosen:
                self._error(option.span, f"`{key}` is given twice")
                ok = False
            elif word not in allowed[key]:
                self._error(
                    option.value.span,
                    f"`{word}` is not a choice for `{key}`",
                    "choices: " + ", ".join(f"`{w}`" for w in allowed[key]),
                )
                ok = False
            else:
                chosen[key] = word
        for key, words in allowed.items():
            if key not in chosen and not any(o.name.text == key for o in node.options):
                self._error(
                    node.span,
                    f"`to_utc` needs `{key}=...`: say what a local time in a daylight-saving "
                    f"{key} becomes ({' or '.join(words)}); it is never chosen silently",
                    f"write `{SIGNATURES['to_utc']}`",
                )
                ok = False
        if not ok or value is None or zone_literal is None:
            return None
        consts = (zone_literal.value, chosen["gap"], chosen["overlap"])
        return x.Call("to_utc", (value,), consts, "datetime")


def _zone_ok(literal: ast.Literal, typer: Typer) -> bool:
    name = literal.value
    assert isinstance(name, str)
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfo raises several kinds for a bad key; all mean "unknown"
        typer._error(
            literal.span, f"unknown time zone {name!r}", did_you_mean(name, available_timezones())
        )
        return False
    return True


def replacement_parts(text: str, groups: int) -> tuple[str | int, ...] | str:
    """`a\\1b` -> ("a", 1, "b"): text and group numbers; a message when it names a group not there."""
    parts: list[str | int] = []
    plain: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\":
            plain.append(char)
            index += 1
            continue
        following = text[index + 1 : index + 2]
        if following == "\\":
            plain.append("\\")
        elif following.isdigit() and following.isascii():
            number = int(following)
            if number > groups:
                return f"the replacement names group {number}, but the regex has {groups}"
            if plain:
                parts.append("".join(plain))
                plain = []
            parts.append(number)
        else:
            return "in a replacement, a backslash is followed by a group digit or a backslash"
        index += 2
    if plain:
        parts.append("".join(plain))
    return tuple(parts)


def _a(type_name: str) -> str:
    """`a string`, `an int`, `null`: a type in a sentence."""
    if type_name == "null":
        return "null"
    return ("an " if type_name[0] in "aeiou" else "a ") + type_name


def _convert(a: str, b: str) -> str | None:
    """A hint when text meets another type: `text(...)` turns any value into text."""
    if "string" in (a, b) and {a, b} != {"string"}:
        other = b if a == "string" else a
        return f"convert the {other} to text first with text(...)"
    return None
