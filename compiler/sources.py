"""Reading `.map` files: text, hash, parse, and the files they `extend`.

Three paths matter for a file: the one diagnostics show (as the user wrote
it), the one generated code and manifests record (relative to the mappings
root, so bundles do not depend on where they were built), and where it is on
disk (to resolve `extends`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from dsl.ast import MapFile
from dsl.source_text import decode_map_bytes

ROOT_MARKER = ".mappings-root"
"""An empty file of this name marks the mappings root: `extends` never leaves it."""

MAX_MAP_BYTES = 16 * 1024 * 1024
"""A `.map` file larger than this is refused unread (a 100,000-entry lookup is 3 MB)."""


class NotAMapFile(OSError):
    """A path that names something other than a readable `.map` file (a device, a directory,
    another kind of file, a huge file): refused before its content is read or shown."""

    def __init__(self, reason: str, filename: str) -> None:
        super().__init__(errno.EINVAL, reason, filename)


class RefusedBase(Exception):
    """An `extends` target that may not be read: absolute, outside the root, not `.map`."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


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


def read_map_bytes(location: Path) -> bytes:
    """A `.map` file's bytes; NotAMapFile for anything else, OSError when unreadable.

    The name, the kind of file and its size are checked before reading, so a
    device (`/dev/zero`) or a file of another kind is never read, and so never
    echoed in a diagnostic.
    """
    shown = str(location)
    if location.suffix != ".map":
        raise NotAMapFile("it is not a .map file", shown)
    info = location.stat()
    if not stat.S_ISREG(info.st_mode):
        raise NotAMapFile("it is not a regular file", shown)
    if info.st_size > MAX_MAP_BYTES:
        raise NotAMapFile(f"it is larger than {MAX_MAP_BYTES // 2**20} MiB", shown)
    with location.open("rb") as opened:
        data = opened.read(MAX_MAP_BYTES + 1)
    if len(data) > MAX_MAP_BYTES:
        raise NotAMapFile(f"it is larger than {MAX_MAP_BYTES // 2**20} MiB", shown)
    return data


def _is_absolute(target: str) -> bool:
    return posixpath.isabs(target) or target.startswith("\\") or bool(PureWindowsPath(target).drive)


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
            data = read_map_bytes(location)
        source = decode_map_bytes(data, shown)
        return LoadedFile(
            ast=parse_text(source, shown),
            rel_path=_relative(location, self.root),
            sha256=hashlib.sha256(data).hexdigest(),
            key=str(location.resolve()),
        )

    def load_base(self, child: LoadedFile, target: str) -> LoadedFile:
        """The file named by `extends "TARGET"`, relative to the file that says it.

        RefusedBase for a target that is absolute, not a `.map` file or outside
        the mappings root (symbolic links followed); nothing is read then.
        """
        if not target or "\x00" in target:
            raise FileNotFoundError(2, "No such file or directory", target)
        child_dir = posixpath.dirname(child.ast.path)
        if _is_absolute(target):
            raise RefusedBase(
                "`extends` takes a path relative to this file, not an absolute path",
                'write the path from this file\'s directory, e.g. `extends "../kong.map"`',
            )
        if not target.endswith(".map"):
            raise RefusedBase(
                "`extends` names a `.map` file", 'the base is another mapping, e.g. "../kong.map"'
            )
        location = Path(child.key).parent / target
        root = self.root.resolve()
        if not location.resolve().is_relative_to(root):
            up = os.path.relpath(root, Path(child.key).parent)
            shown_root = posixpath.normpath(posixpath.join(child_dir, Path(up).as_posix()))
            raise RefusedBase(
                f"`extends` leads outside the mappings root `{shown_root}`",
                f"the root is the nearest directory holding a `{ROOT_MARKER}` file, from the"
                " directory checked (a lone file's own) upwards; without one, that directory",
            )
        shown = posixpath.normpath(posixpath.join(child_dir, target))
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
    """The mappings root for these arguments: what `extends` stays in, and recorded paths start at.

    Starting from the lone directory or file's directory given, or the common
    parent of the arguments, it is the nearest directory (that one or one above) holding a
    `.mappings-root` file; without one, the starting directory itself.
    """
    if len(paths) == 1:
        start = paths[0] if paths[0].is_dir() else paths[0].parent
    else:
        parents = [str((path if path.is_dir() else path.parent).resolve()) for path in paths]
        start = Path(os.path.commonpath(parents)) if parents else Path.cwd()
    resolved = start.resolve()
    for up, directory in enumerate((resolved, *resolved.parents)):
        if (directory / ROOT_MARKER).is_file():
            return Path(os.path.normpath(start.joinpath(*[".."] * up)))
    return start
