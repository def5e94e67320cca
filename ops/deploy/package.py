"""The Lambda deployment package: the runtime's code and its dependencies in one zip.

The zip is built from an allow-list, not by leaving things out: the packages
of `LAMBDA_PACKAGES` (`runtime/`, whose handlers are
`runtime.handlers.{extractor,transformer,loader}.lambda_handler`, and
`contract/`, the compiler-runtime contract it imports) beside the unpacked
wheels of the runtime's dependencies, at the root Lambda puts on `sys.path`
(/var/task). A new package of ours reaches the Lambda only by being named
here; tests/architecture/test_import_graph.py checks that these packages
import nothing else of ours. Compiled mappings arrive as bundle modules that
import only the standard library.

No bytecode of the working tree or the wheels is copied; the package's own
bytecode is compiled fresh and reproducibly (ops/deploy/bytecode.py) when
this interpreter is the target's Python. Each wheel loses its `RECORD` and
installer marks, which vary with the tool that installs it.
"""

from __future__ import annotations

import importlib
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ops.deploy.bytecode import can_compile_for, with_bytecode
from ops.deploy.errors import BundleError, UnsafeWheelMember
from ops.deploy.lock import Lock, check_lock, read_lock
from ops.deploy.reprozip import Artefact, Entry, write_zip
from ops.deploy.requirements import Pin, runtime_pins
from ops.deploy.target import LambdaTarget
from ops.deploy.wheels import Wheel, ensure_wheels

PACKAGE_NAME = "siesa-runtime-lambda.zip"
LAMBDA_PACKAGES = ("runtime", "contract")
"""Our packages the Lambda runs, and the only ones the zip holds."""
HANDLER_MODULES = (
    "runtime.handlers.extractor",
    "runtime.handlers.transformer",
    "runtime.handlers.loader",
)
# Per-install files of a .dist-info directory: they differ with the installer, not the code.
_INSTALL_RECORDS = frozenset({"RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER", "REQUESTED"})
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class LambdaPackage:
    """The built zip and what went into it."""

    artefact: Artefact
    target: LambdaTarget
    wheels: tuple[Wheel, ...]
    bytecode: bool  # whether the zip carries compiled .pyc files

    @property
    def pins(self) -> tuple[Pin, ...]:
        """The distributions the zip carries."""
        return tuple(wheel.pin for wheel in self.wheels)


def _is_bytecode(parts: Sequence[str]) -> bool:
    return "__pycache__" in parts or parts[-1].endswith((".pyc", ".pyo"))


def package_dir(package: str) -> Path:
    """Where an importable package of ours lives, installed or in a checkout."""
    module = importlib.import_module(package)
    if module.__file__ is None:
        raise BundleError(f"{package} is not a regular package; the Lambda package needs its files")
    return Path(module.__file__).resolve().parent


def lambda_sources() -> dict[str, Path]:
    """Each package of `LAMBDA_PACKAGES` and the directory its files come from."""
    return {package: package_dir(package) for package in LAMBDA_PACKAGES}


def source_entries(sources: Mapping[str, Path]) -> list[Entry]:
    """The files of each package (name -> directory) under `name/`, bytecode left out."""
    entries: list[Entry] = []
    for package, directory in sorted(sources.items()):
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory)
            if path.is_file() and not _is_bytecode(relative.parts):
                entries.append(Entry(f"{package}/{relative.as_posix()}", path.read_bytes()))
    return entries


def unsafe_member_reason(name: str) -> str | None:
    """Why a wheel member's name could land outside the package's tree; None when it cannot.

    A name is kept as it is only when it is relative, uses `/` alone and has
    no `..` part: unpacking `../../x`, `/etc/x`, `C:x` or `a\\..\\x` (Windows
    separators) would write outside /var/task, or somewhere else than the
    name suggests.
    """
    if "\\" in name:
        return "a backslash"
    if name.startswith("/"):
        return "an absolute path"
    if _DRIVE.match(name):
        return "a drive letter"
    if ".." in name.split("/"):
        return "a '..' part"
    return None


def _wheel_path(name: str) -> str | None:
    """Where a wheel member lands in the package; None for what the package leaves out."""
    parts = PurePosixPath(name).parts
    if not parts or name.endswith("/") or _is_bytecode(parts):
        return None
    top = parts[0]
    if top.endswith(".dist-info") and parts[-1] in _INSTALL_RECORDS:
        return None
    if top.endswith(".data"):
        # purelib/platlib install into site-packages; scripts, headers and data do not matter here
        if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
            return PurePosixPath(*parts[2:]).as_posix()
        return None
    return PurePosixPath(*parts).as_posix()


def wheel_entries(wheel: Path) -> list[Entry]:
    """A wheel's files as they would be installed in site-packages; UnsafeWheelMember for a
    member named outside the wheel's own tree."""
    entries: list[Entry] = []
    try:
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                reason = unsafe_member_reason(info.filename)
                if reason is not None:
                    raise UnsafeWheelMember(
                        f"wheel {wheel.name} has a member named {info.filename!r} ({reason}); "
                        "it is not packaged: the wheel is broken or hostile"
                    )
                target = _wheel_path(info.filename)
                if target is None or info.is_dir():
                    continue
                executable = bool((info.external_attr >> 16) & 0o111)
                entries.append(Entry(target, archive.read(info), executable))
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(
            f"cached wheel {wheel} is unreadable ({exc}); delete it and rebuild"
        ) from exc
    return entries


def build_lambda_package(
    out_dir: Path,
    *,
    cache: Path,
    target: LambdaTarget,
    sources: Mapping[str, Path] | None = None,
    pins: Sequence[Pin] | None = None,
    lock: Lock | None = None,
    bytecode: bool = True,
) -> LambdaPackage:
    """Build `out_dir/siesa-runtime-lambda.zip` for `target` from the cache's wheels.

    `sources` (package name -> directory) defaults to `lambda_sources()`;
    `lock` to the lock file (ops/deploy/lock.py), and `pins` to every pin of
    the lock, after checking the lock names exactly `runtime_pins(target)`.
    Every wheel must hash to what the lock lists for it. `bytecode` adds
    compiled `.pyc` files when this interpreter can write them for the
    target (`LambdaPackage.bytecode` says whether it did).
    """
    hashes = lock if lock is not None else read_lock()
    if pins is None:
        check_lock(hashes, runtime_pins(target), target)
    chosen = list(pins) if pins is not None else hashes.pins
    wheels = ensure_wheels(chosen, cache, target, hashes)
    entries = source_entries(sources if sources is not None else lambda_sources())
    for wheel in wheels:
        entries.extend(wheel_entries(wheel.path))
    compiled = bytecode and can_compile_for(target)
    if compiled:
        entries = with_bytecode(entries, target)
    artefact = write_zip(entries, out_dir / PACKAGE_NAME)
    return LambdaPackage(artefact, target, tuple(wheels), compiled)
