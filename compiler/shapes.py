"""`format("IN", "OUT")` shapes: parsed and checked here, turned into a regex and a template.

`{zone:A}-{aisle:99}-{shelf:99}` is a part `zone` of one uppercase letter, a
literal `-`, and so on; `{{` and `}}` are literal braces. The output shape
names input parts: `{zone}{aisle}{shelf}`. Errors carry offsets into the
shape's text so that they can be shown at the offending character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from compiler.names import SHAPE_CLASSES
from dsl.suggest import did_you_mean

_PART_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class ShapeError:
    """A problem at text[start:end] of one shape."""

    start: int
    end: int
    message: str
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class _Part:
    name: str
    spec: str | None
    start: int
    end: int
    spec_start: int


def _scan(text: str) -> tuple[list[str | _Part], list[ShapeError]]:
    """Split a shape into literal characters and `{...}` parts."""
    items: list[str | _Part] = []
    errors: list[ShapeError] = []
    index = 0
    while index < len(text):
        char = text[index]
        if text.startswith("{{", index) or text.startswith("}}", index):
            items.append(char)
            index += 2
        elif char == "}":
            errors.append(
                ShapeError(
                    index, index + 1, "a single `}` in a shape", "write `}}` for a literal brace"
                )
            )
            index += 1
        elif char == "{":
            close = text.find("}", index)
            nested = text.find("{", index + 1)
            if close < 0 or 0 <= nested < close:
                errors.append(
                    ShapeError(
                        index, index + 1, "this `{` is not closed", "write `{{` for a literal brace"
                    )
                )
                index += 1
                continue
            body = text[index + 1 : close]
            name, colon, spec = body.partition(":")
            items.append(
                _Part(name, spec if colon else None, index, close + 1, index + 2 + len(name))
            )
            index = close + 1
        else:
            items.append(char)
            index += 1
    return items, errors


def _check_name(part: _Part) -> list[ShapeError]:
    if _PART_NAME.fullmatch(part.name):
        return []
    return [ShapeError(part.start, part.end, "a part needs a name: `{name:SPEC}`")]


@dataclass(frozen=True, slots=True)
class InputShape:
    """The input shape as a regex whose groups are the parts, in order."""

    pattern: str
    groups: dict[str, int]


def parse_input(text: str) -> InputShape | list[ShapeError]:
    """Check an input shape; its regex, or every problem found."""
    items, errors = _scan(text)
    pattern: list[str] = []
    groups: dict[str, int] = {}
    for item in items:
        if isinstance(item, str):
            pattern.append(re.escape(item))
            continue
        name_errors = _check_name(item)
        errors.extend(name_errors)
        if item.spec is None:
            errors.append(
                ShapeError(
                    item.start,
                    item.end,
                    f"part `{item.name}` has no SPEC",
                    f"write `{{{item.name}:99}}`: one of A a 9 X per character",
                )
            )
            continue
        if not item.spec:
            errors.append(ShapeError(item.start, item.end, f"part `{item.name}` has an empty SPEC"))
        for offset, char in enumerate(item.spec):
            if char not in SHAPE_CLASSES:
                position = item.spec_start + offset
                errors.append(
                    ShapeError(
                        position,
                        position + 1,
                        f"unknown SPEC character `{char}`",
                        "use A (uppercase letter), a (lowercase letter), 9 (digit) or X (letter or digit)",
                    )
                )
        if not name_errors and item.name in groups:
            errors.append(ShapeError(item.start, item.end, f"part `{item.name}` is named twice"))
        elif not name_errors:
            groups[item.name] = len(groups) + 1
        classes = "".join(SHAPE_CLASSES.get(char, "") for char in item.spec)
        pattern.append(f"({classes})")
    if errors:
        return errors
    return InputShape("".join(pattern), groups)


def parse_output(text: str, groups: dict[str, int]) -> tuple[int | str, ...] | list[ShapeError]:
    """Check an output shape against the input's parts; group numbers and literal text."""
    items, errors = _scan(text)
    output: list[int | str] = []
    for item in items:
        if isinstance(item, str):
            if output and isinstance(output[-1], str):
                output[-1] += item
            else:
                output.append(item)
            continue
        name_errors = _check_name(item)
        errors.extend(name_errors)
        if name_errors:
            continue
        if item.spec is not None:
            errors.append(
                ShapeError(
                    item.start,
                    item.end,
                    f"output part `{item.name}` takes no SPEC",
                    f"write `{{{item.name}}}`",
                )
            )
        if item.name not in groups:
            errors.append(
                ShapeError(
                    item.start,
                    item.end,
                    f"part `{item.name}` is not defined in the input shape",
                    did_you_mean(item.name, groups),
                )
            )
            continue
        output.append(groups[item.name])
    if errors:
        return errors
    return tuple(output)
