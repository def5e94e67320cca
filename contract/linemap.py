"""Where in the `.map` file an exception raised by generated code comes from.

Every generated module carries `LINE_MAP` (generated line -> `.map` line,
compiler/codegen.py) and `FIELDS` (each field's `.map` file and line). Given
an exception and the LoadedMapping whose code raised it, `locate` walks the
traceback for the frames running that module's code (their globals are the
module's own), innermost first, and reports the first one on a mapped line.
A helper copied into the module has no mapped lines, so an error inside one
is charged to the field whose code called it.

Paths are as the bundle records them: relative to the root the mappings were
compiled from (`kong.map`, `clients/cliente-e.map`); `MapLocation.under`
puts them under a directory the caller knows (`siesa map run`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from types import CodeType, TracebackType

from contract.loaded import LoadedMapping


@dataclass(frozen=True, slots=True)
class MapLocation:
    """A line of a `.map` file."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def under(self, root: str) -> MapLocation:
        """The same line, its file joined to `root` (`mappings` + `kong.map` -> `mappings/kong.map`)."""
        return MapLocation(posixpath.normpath(posixpath.join(root, self.file)), self.line)


def _tracebacks(tb: TracebackType | None) -> Iterator[TracebackType]:
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _nearest(code: CodeType, line: int, line_map: dict[int, int]) -> int | None:
    """The `.map` line of the closest mapped line of `code` at or before `line`, else after it."""
    lines = sorted({number for _, _, number in code.co_lines() if number is not None})
    mapped = [number for number in lines if number in line_map]
    before = [number for number in mapped if number <= line]
    if before:
        return line_map[before[-1]]
    return line_map[mapped[0]] if mapped else None


def map_file(mapping: LoadedMapping, line: int) -> str:
    """The `.map` file that holds `line` of the mapping.

    A mapping that extends others has one line map for several files; the
    file is the one whose field `FIELDS` records on that line. When fields of
    two files share the line number, or no field is on it, the mapping's own
    file is chosen: it is the file compiled, and a field it overrides lives there.
    """
    own = mapping.declaration.get("source")
    own_file = own if isinstance(own, str) else mapping.entry.source
    files = {
        item["file"]
        for item in mapping.fields
        if item.get("line") == line and isinstance(item.get("file"), str)
    }
    return files.pop() if len(files) == 1 else own_file


def locate(exc: BaseException, mapping: LoadedMapping) -> MapLocation | None:
    """The `.map` file and line behind the innermost mapped frame of `mapping`'s code in `exc`.

    None only when no frame of the traceback runs the mapping's code, or
    the module has no line map. A frame on a line outside every field's
    code (the start or the end of `to_canonical`) is charged to the nearest
    field's code before it in the same function, or the first one after it.
    """
    own_globals = mapping.module.__dict__
    frames = [
        (tb.tb_frame.f_code, tb.tb_lineno)
        for tb in _tracebacks(exc.__traceback__)
        if tb.tb_frame.f_globals is own_globals
    ]
    line_map = dict(mapping.line_map)
    for _, generated in reversed(frames):
        if generated in line_map:
            line = line_map[generated]
            return MapLocation(map_file(mapping, line), line)
    if not frames:
        return None
    code, generated = frames[0]
    nearest = _nearest(code, generated, line_map)
    return None if nearest is None else MapLocation(map_file(mapping, nearest), nearest)


def failure_reason(exc: BaseException, where: MapLocation | None) -> str:
    """`the mapping failed at kong.map:23: ZeroDivisionError: ...` (no `at` when unknown)."""
    at = f" at {where}" if where is not None else ""
    return f"the mapping failed{at}: {type(exc).__name__}: {exc}"
