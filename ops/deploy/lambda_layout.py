"""Lambda's file layout on this machine: the package unpacked, the SDK the runtime provides.

On Lambda, /var/task (the package) comes first on `sys.path` and the Python
runtime's own directory supplies boto3 and botocore. `unpack` and
`link_provided_sdk` build the same two directories locally, and
`isolated_python` starts an interpreter that sees only them and the standard
library (`-I -S`: no site-packages, no environment), so an import that works
there works on Lambda. The import benchmark and the package tests use them.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Sequence
from importlib import metadata
from importlib.util import cache_from_source
from pathlib import Path

from ops.deploy.errors import BundleError
from ops.deploy.requirements import PROVIDED_BY_LAMBDA, needed, normalize


def unpack(package: Path, dest: Path) -> Path:
    """Extract the package zip into `dest` (as Lambda does into /var/task), keeping modes."""
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(package) as archive:
        for info in archive.infolist():
            written = Path(archive.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                written.chmod(mode)
    return dest


def _closure(names: Sequence[str]) -> list[metadata.Distribution]:
    """The installed distributions `names` need (markers of this machine, no extras)."""
    found: dict[str, metadata.Distribution] = {}
    pending = [normalize(name) for name in names]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        distribution = metadata.distribution(name)
        found[name] = distribution
        pending.extend(needed(distribution.requires or [], {"extra": ""}))
    return list(found.values())


def _top_level_paths(distribution: metadata.Distribution) -> set[Path]:
    """The top-level modules and packages a distribution installed."""
    tops: set[Path] = set()
    for file in distribution.files or []:
        parts = file.parts
        if (
            not parts
            or parts[0].endswith((".dist-info", ".data"))
            or parts[0] in ("..", "__pycache__")
        ):
            continue
        if len(parts) == 1 and not parts[0].endswith(".py"):
            continue
        tops.add(Path(str(distribution.locate_file(parts[0]))))
    return tops


def link_provided_sdk(dest: Path, provided: Sequence[str] = PROVIDED_BY_LAMBDA) -> Path:
    """A directory of links to the installed SDK and what it needs: the stand-in for Lambda's own."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        distributions = _closure(provided)
    except metadata.PackageNotFoundError as exc:
        raise BundleError(f"the AWS SDK is not installed here ({exc})") from exc
    for distribution in distributions:
        for top in _top_level_paths(distribution):
            link = dest / top.name
            if not link.exists():
                link.symlink_to(top, target_is_directory=top.is_dir())
            if top.suffix == ".py":
                _link_bytecode(top, link)
    return dest


def _link_bytecode(module: Path, link: Path) -> None:
    """Link a single-file module's installed bytecode beside its link (a package's comes with it).

    The runtime's SDK is installed compiled; without this, `six` would be compiled from source
    on every import the benchmark times (`-B` writes no bytecode).
    """
    compiled = Path(cache_from_source(str(module)))
    if not compiled.is_file():
        return
    target = Path(cache_from_source(str(link)))
    target.parent.mkdir(exist_ok=True)
    if not target.exists():
        target.symlink_to(compiled)


def isolated_command(paths: Sequence[Path], code: str, *options: str) -> list[str]:
    """argv of an interpreter that sees only `paths` and the standard library, running `code`."""
    preamble = f"import sys; sys.path[:0] = {[str(path) for path in paths]!r}; "
    return [sys.executable, "-I", "-S", "-B", *options, "-c", preamble + code]


def isolated_python(
    paths: Sequence[Path], code: str, *options: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `code` in an isolated interpreter (see `isolated_command`); never raises on failure."""
    return subprocess.run(  # nosec B603 # this interpreter, no shell; the code and paths are the project's own, never user text
        isolated_command(paths, code, *options),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
