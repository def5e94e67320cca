"""`--write`: the typed text saved back to the `.map` file, only when it parses, atomically.

As `blobl server --write` does for Bloblang: an editor's half-typed line
never lands on disk, and a reader of the file (an editor, `siesa map check`)
sees the old text or the new one whole, never a mix (a temporary file in the
same directory, flushed, then renamed over the file).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from compiler.sources import parse_text
from dsl.diagnostics import MapError
from dsl.source_text import decode_map_bytes

SAVED = "saved"
NOT_PARSED = "not saved: does not parse"


def save_if_parses(path: Path, source: str, display: str) -> str:
    """Write `source` to `path` when it parses; SAVED or NOT_PARSED, for the page to show."""
    data = source.encode("utf-8")
    try:
        parse_text(decode_map_bytes(data, display), display)
    except MapError:
        return NOT_PARSED
    target = path.resolve()
    with contextlib.suppress(FileNotFoundError):
        if target.read_bytes() == data:
            return SAVED
    write_atomically(target, data)
    return SAVED


def write_atomically(target: Path, data: bytes) -> None:
    """Replace `target` with `data` in one rename, keeping its permission bits."""
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
