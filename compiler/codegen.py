"""Codegen: a checked mapping -> the source text of its Python module.

Jinja2 renders `templates/module.py.j2` with StrictUndefined (a template
naming something the plan lacks fails loudly) and autoescape off (this is
Python, not HTML). Values reach the code only through the `py` filter and
names only through `ident` (see `compiler.filters`). `LINE_MAP` is computed
from the `# map:LINE` markers of the rendered text and appended last, so it
never shifts the lines it describes.
"""

from __future__ import annotations

import functools
import re

import jinja2

from compiler import ir
from compiler.filters import ident, py
from compiler.helpers import helper_source
from compiler.lower import lower
from compiler.lower_expr import code

_MARKER = re.compile(r"#\s*map:(\d+)\s*$")


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("compiler", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # nosec B701 # the output is Python, not HTML: literals pass the `py` filter, names `ident`
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["py"] = py
    env.filters["ident"] = ident
    env.filters["code"] = code
    env.globals["helper_source"] = helper_source
    return env


def line_map(code: str) -> dict[int, int]:
    """Generated line -> `.map` line, from the markers in `code`.

    A line that is only `# map:N` maps itself and the lines after it, up to
    the next blank line; a line ending in `# map:N` maps just itself.
    """
    mapping: dict[int, int] = {}
    current: int | None = None
    for number, text in enumerate(code.splitlines(), start=1):
        stripped = text.strip()
        marker = _MARKER.search(text)
        if marker is not None and stripped.startswith("#"):
            current = int(marker[1])
        elif not stripped:
            current = None
            continue
        if marker is not None:
            mapping[number] = int(marker[1])
        elif current is not None:
            mapping[number] = current
    return mapping


def generate(mapping: ir.Mapping) -> str:
    """The module's source text; the same mapping always gives the same bytes."""
    env = _environment()
    body = env.get_template("module.py.j2").render(plan=lower(mapping))
    body = body.rstrip("\n") + "\n"
    entries = sorted(line_map(body).items())
    return body + env.get_template("line_map.py.j2").render(entries=entries)
