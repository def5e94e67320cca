"""Bundles: many `.map` files -> one directory of modules plus `manifest.json`.

The runtime loads a bundle from S3 and refuses any module whose SHA-256 is not
the one in the manifest (runtime/mapping_loader.py). A bundle is built whole in a
temporary directory next to the output and then moved into place, so a
failed compile never leaves a half-written bundle behind, and the same
sources always give the same bytes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from compiler.pipeline import CompiledMapping, compile_file
from compiler.sources import common_root, find_map_files
from compiler.version import COMPILER_VERSION
from contract.manifest import MANIFEST_NAME, Manifest, write_manifest
from dsl.diagnostics import Diagnostic, MapError


class BundleWriteError(Exception):
    """The bundle directory cannot be written where asked (the message says why).

    Not ops.deploy.errors.BundleError, which is about building the deploy artefacts.
    """


def compile_all(
    paths: Sequence[Path], root: Path | None = None
) -> list[tuple[str, CompiledMapping]]:
    """Compile every `.map` file named or under the given directories; MapError lists all problems.

    Returns (shown path, compiled mapping) pairs in a stable order.
    """
    files = find_map_files(paths)
    base = root if root is not None else common_root(list(paths))
    compiled: list[tuple[str, CompiledMapping]] = []
    diagnostics: list[Diagnostic] = []
    sources: dict[str, str] = {}
    for path in files:
        try:
            compiled.append((str(path), compile_file(path, root=base, display=str(path))))
        except MapError as exc:
            diagnostics.extend(exc.diagnostics)
            sources.update(exc.sources)
    seen: dict[str, str] = {}
    for shown, item in compiled:
        module = item.module_file
        if module in seen:
            message = (
                f"mapping `{item.mapping.name}` gives the module {module}, as {seen[module]} does"
            )
            hint = "mapping names must be unique in a bundle (`-` and `_` count as the same)"
            diagnostics.append(Diagnostic(shown, item.mapping.name_span, message, hint=hint))
            sources[shown] = Path(shown).read_text("utf-8")
        else:
            seen[module] = shown
    if diagnostics:
        raise MapError(diagnostics, sources)
    return sorted(compiled, key=lambda pair: pair[1].mapping.name)


def _replace_dir(staged: Path, out_dir: Path) -> None:
    """Move a staged bundle to `out_dir`, replacing a previous bundle there."""
    if not out_dir.exists():
        staged.rename(out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-old-", dir=out_dir.parent))
    retired.rmdir()
    out_dir.rename(retired)
    try:
        staged.rename(out_dir)
    except OSError:
        retired.rename(out_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def write_bundle(compiled: Sequence[CompiledMapping], out_dir: Path) -> Manifest:
    """Write modules and manifest to `out_dir` all at once; BundleWriteError when it may not."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BundleWriteError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST_NAME).is_file():
        raise BundleWriteError(
            f"{out_dir} is not empty and holds no bundle; refusing to replace it"
        )
    manifest = Manifest.of(COMPILER_VERSION, tuple(item.manifest_entry() for item in compiled))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-new-", dir=out_dir.parent))
    try:
        for item in compiled:
            (staged / item.module_file).write_text(item.code, encoding="utf-8")
        write_manifest(staged, manifest)
        staged.chmod(0o755)
        _replace_dir(staged, out_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return manifest


def compile_paths(paths: Sequence[Path], out_dir: Path, *, root: Path | None = None) -> Manifest:
    """Compile `.map` files (and directories of them) into a bundle at `out_dir`.

    Source paths in the bundle are relative to `root` (by default the lone
    directory given, or the common parent of the files). MapError lists every
    problem of every file; then nothing is written.
    """
    compiled = compile_all(paths, root)
    return write_bundle([item for _, item in compiled], out_dir)
