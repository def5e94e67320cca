"""The Connekta simulator's request parameters, read strictly: `paginacion` and `parametros`.

`parametros` accepts only what the platform sends, conditions joined by AND:

    COLUMN >= 'YYYY-MM-DD HH:MM:SS[.fffffff]'     (T instead of the space allowed)
    COLUMN = 123

Anything else (OR, a quote inside a literal, a comment, a parenthesis, a
semicolon, a number where a timestamp belongs) is a `ParameterError`, which
the simulator answers with 400. So a filter that an injection changed never
passes as a filter that means something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

MAX_PAGE_SIZE = 1000

_PAGINACION = re.compile(r"numPag=([1-9][0-9]{0,8})\|tamPag=([1-9][0-9]{0,8})")
_TOKEN = re.compile(
    r"(?P<space>[ \t]+)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>>=|=)"
    r"|(?P<string>'[^']*')|(?P<number>-?[0-9]+)"
)
_TIMESTAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,7}))?"
)


class ParameterError(ValueError):
    """A request parameter outside what Connekta accepts (answered with 400)."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of `parametros`: a timestamp lower bound or a number equality."""

    column: str
    op: Literal[">=", "="]
    value: datetime | int


def parse_timestamp(text: str) -> datetime | None:
    """A Connekta timestamp (`T` or space, optional fraction of up to 7 digits), naive; None if not one."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return None
    day, clock, fraction = match.groups()
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}")
    except ValueError:
        return None
    return moment.replace(microsecond=int((fraction or "0")[:6].ljust(6, "0")))


def parse_paginacion(text: str | None) -> tuple[int, int] | None:
    """`numPag=N|tamPag=M` as (N, M); None when absent (every row in one answer)."""
    if text is None:
        return None
    match = _PAGINACION.fullmatch(text)
    if match is None:
        raise ParameterError(
            f"paginacion {text[:80]!r} no es válida; se espera numPag=N|tamPag=M (N y M desde 1)"
        )
    page, size = int(match.group(1)), int(match.group(2))
    if size > MAX_PAGE_SIZE:
        raise ParameterError(f"tamPag {size} supera el máximo de {MAX_PAGE_SIZE}")
    return page, size


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ParameterError(
                f"parametros no válidos: carácter inesperado {text[position]!r} en la posición {position + 1}"
            )
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append((kind, match.group()))
        position = match.end()
    return tokens


def parse_parametros(text: str | None) -> tuple[Condition, ...]:
    """The conditions of a `parametros` value; () when absent or blank; ParameterError otherwise."""
    if text is None or not text.strip():
        return ()
    tokens = _tokens(text)
    conditions: list[Condition] = []
    index = 0
    while True:
        if index + 3 > len(tokens):
            raise ParameterError("parametros no válidos: una condición está incompleta")
        (kind, column), (_, op), (value_kind, value) = tokens[index : index + 3]
        if kind != "ident" or column.upper() == "AND":
            raise ParameterError(f"parametros no válidos: se esperaba una columna, no {column!r}")
        conditions.append(_condition(column, op, value_kind, value))
        index += 3
        if index == len(tokens):
            return tuple(conditions)
        kind, word = tokens[index]
        if kind != "ident" or word.upper() != "AND":
            raise ParameterError(f"parametros no válidos: se esperaba AND, no {word!r}")
        index += 1


def _condition(column: str, op: str, value_kind: str, value: str) -> Condition:
    if op == ">=" and value_kind == "string":
        moment = parse_timestamp(value[1:-1])
        if moment is None:
            raise ParameterError(
                f"parametros no válidos: {value[:60]} no es una fecha 'AAAA-MM-DD HH:MM:SS'"
            )
        return Condition(column, ">=", moment)
    if op == "=" and value_kind == "number":
        return Condition(column, "=", int(value))
    raise ParameterError(
        f"parametros no válidos: {column} {op} {value[:60]}: solo se aceptan "
        "COLUMNA >= 'FECHA' y COLUMNA = NÚMERO"
    )
