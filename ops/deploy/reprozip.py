"""Zip files whose bytes depend only on their entries: the same inputs, the same SHA-256.

Entries are sorted by name and carry a fixed timestamp (1980-01-01, the
earliest a zip can hold), fixed Unix permissions (0644, or 0755 for files
that were executable) and no extra fields; the archive has no comment. The
compressor is zlib's deflate at a fixed level, stable for a given zlib.
"""

from __future__ import annotations

import hashlib
import itertools
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ops.deploy.errors import BundleError

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 9
_UNIX = 3  # ZipInfo.create_system: the permission bits below are Unix mode bits


@dataclass(frozen=True)
class Entry:
    """One file of an archive."""

    name: str  # posix path inside the archive
    data: bytes
    executable: bool = False


@dataclass(frozen=True)
class Artefact:
    """A built file: where it is, how big, and its SHA-256 (hex)."""

    path: Path
    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Artefact:
        """Measure a file."""
        return cls(path, path.stat().st_size, sha256_file(path))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _info(entry: Entry) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(entry.name, date_time=FIXED_DATE_TIME)
    info.create_system = _UNIX
    mode = 0o755 if entry.executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_zip(entries: Iterable[Entry], path: Path) -> Artefact:
    """Write `entries` sorted by name to `path` (via a temporary file); refuse duplicate names."""
    ordered = sorted(entries, key=lambda entry: entry.name)
    for before, after in itertools.pairwise(ordered):
        if before.name == after.name:
            raise BundleError(f"two files want the archive path {before.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.partial")
    try:
        with zipfile.ZipFile(staged, "w", compresslevel=COMPRESS_LEVEL) as archive:
            for entry in ordered:
                archive.writestr(_info(entry), entry.data, compresslevel=COMPRESS_LEVEL)
        staged.replace(path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return Artefact.of(path)


def tree_entries(root: Path, prefix: str = "") -> list[Entry]:
    """Every file under `root` as an entry named `prefix` + its relative posix path."""
    return [
        Entry(
            prefix + path.relative_to(root).as_posix(),
            path.read_bytes(),
            bool(path.stat().st_mode & stat.S_IXUSR),
        )
        for path in sorted(root.rglob("*"))
        if path.is_file()
    ]
