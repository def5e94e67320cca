"""The Lambda deployment package: the runtime's code and its dependencies in one zip.

The zip's root is what Lambda puts on `sys.path` (/var/task): `runtime/` (the
handlers are `runtime.handlers.{extractor,transformer,loader}.lambda_handler`)
and `contract/` (the bundle's manifest and module loader, shared with the
compiler) beside the unpacked wheels. It holds no `local/`, `cli/`,
`ops/` or `ops/deploy/` (operator-side code the handlers never
import) and nothing of `dsl/` or `compiler/`: compiled mappings arrive as
bundle modules that import only the standard library.

No bytecode of the working tree or the wheels is copied; the package's own
bytecode is compiled fresh and reproducibly (ops/deploy/bytecode.py) when
this interpreter is the target's Python. Each wheel loses its `RECORD` and
installer marks, which vary with the tool that installs it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import contract
import runtime
from ops.deploy.bytecode import can_compile_for, with_bytecode
from ops.deploy.errors import BundleError
from ops.deploy.reprozip import Artefact, Entry, write_zip
from ops.deploy.requirements import Pin, runtime_pins
from ops.deploy.target import LambdaTarget
from ops.deploy.wheels import Wheel, ensure_wheels

RUNTIME_DIR = Path(runtime.__file__).resolve().parent
CONTRACT_DIR = Path(contract.__file__).resolve().parent
PACKAGE_NAME = "siesa-runtime-lambda.zip"
# Subpackages of runtime/ that run on the operator's machine, never in Lambda.
OPERATOR_SUBPACKAGES = ("cli", "deploy", "local", "ops")
HANDLER_MODULES = (
    "runtime.handlers.extractor",
    "runtime.handlers.transformer",
    "runtime.handlers.loader",
)
# Per-install files of a .dist-info directory: they differ with the installer, not the code.
_INSTALL_RECORDS = frozenset({"RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER", "REQUESTED"})


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


def runtime_entries(source: Path = RUNTIME_DIR, top: str = "runtime") -> list[Entry]:
    """A shipped package's files under `top/`, operator subpackages and bytecode left out."""
    entries: list[Entry] = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or _is_bytecode(relative.parts):
            continue
        if relative.parts[0] in OPERATOR_SUBPACKAGES:
            continue
        entries.append(Entry(f"{top}/{relative.as_posix()}", path.read_bytes()))
    return entries


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
    """A wheel's files as they would be installed in site-packages."""
    entries: list[Entry] = []
    try:
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
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
    source: Path = RUNTIME_DIR,
    pins: Sequence[Pin] | None = None,
    bytecode: bool = True,
) -> LambdaPackage:
    """Build `out_dir/siesa-runtime-lambda.zip` for `target` from the cache's wheels.

    `bytecode` adds compiled `.pyc` files when this interpreter can write them
    for the target (`LambdaPackage.bytecode` says whether it did).
    """
    chosen = list(pins) if pins is not None else runtime_pins(target)
    wheels = ensure_wheels(chosen, cache, target)
    entries = runtime_entries(source) + runtime_entries(CONTRACT_DIR, "contract")
    for wheel in wheels:
        entries.extend(wheel_entries(wheel.path))
    compiled = bytecode and can_compile_for(target)
    if compiled:
        entries = with_bytecode(entries, target)
    artefact = write_zip(entries, out_dir / PACKAGE_NAME)
    return LambdaPackage(artefact, target, tuple(wheels), compiled)
