"""Reading `.map` files: text, hash, parse, and the files they `extend`.

Three paths matter for a file: the one diagnostics show (as the user wrote
it), the one generated code and manifests record (relative to the mappings
root, so bundles do not depend on where they were built), and where it is on
disk (to resolve `extends`).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dsl.ast import MapFile, Span
from dsl.diagnostics import Diagnostic, MapError


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """A parsed `.map` file. `ast.path` is the path diagnostics show."""

    ast: MapFile
    rel_path: str
    sha256: str
    key: str


def parse_text(source: str, display: str) -> MapFile:
    """Parse one file's text with the language's parser."""
    from dsl.parser import parse

    result: MapFile = parse(source, display)
    return result


def decode(data: bytes, display: str) -> str:
    """A file's bytes as text; a MapError when they are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        diagnostic = Diagnostic(
            display, Span(line, 1, line, 2), f"this file is not UTF-8 text ({exc.reason})"
        )
        raise MapError([diagnostic], {display: ""}) from None


def _relative(location: Path, root: Path) -> str:
    return Path(os.path.relpath(location.resolve(), root.resolve())).as_posix()


class Loader:
    """Loads `.map` files from disk, or from `overlay` (display path -> text) first.

    `root` is the mappings root that recorded paths are relative to.
    """

    def __init__(self, root: Path, overlay: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.overlay = dict(overlay or {})

    def load(self, location: Path, display: str | None = None) -> LoadedFile:
        """Read and parse one file; MapError for bad text or syntax, OSError when unreadable."""
        shown = display if display is not None else str(location)
        if shown in self.overlay:
            data = self.overlay[shown].encode("utf-8")
        else:
            data = location.read_bytes()
        source = decode(data, shown)
        return LoadedFile(
            ast=parse_text(source, shown),
            rel_path=_relative(location, self.root),
            sha256=hashlib.sha256(data).hexdigest(),
            key=str(location.resolve()),
        )

    def load_base(self, child: LoadedFile, target: str) -> LoadedFile:
        """The file named by `extends "TARGET"`, relative to the file that says it."""
        if not target or "\x00" in target:
            raise FileNotFoundError(2, "No such file or directory", target)
        shown = posixpath.normpath(posixpath.join(posixpath.dirname(child.ast.path), target))
        location = Path(child.key).parent / target
        return self.load(location, shown)


def find_map_files(paths: Iterable[Path]) -> list[Path]:
    """The `.map` files named or found under directories (recursively), in a stable order.

    A path that does not exist raises FileNotFoundError.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob("*.map")))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", str(path))
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(str(path.resolve()), path)
    return list(unique.values())


def common_root(paths: Sequence[Path]) -> Path:
    """The mappings root for these arguments: a lone directory itself, else the files' common parent."""
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0]
    parents = [str((path if path.is_dir() else path.parent).resolve()) for path in paths]
    return Path(os.path.commonpath(parents)) if parents else Path.cwd()
