"""The compiler's stages chained: read -> parse -> check -> generate.

Only this module (and `bundle`, `cli`) touch files; each stage below it is a
pure function of its input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from compiler import ir
from compiler.checks import check_mapping
from compiler.codegen import generate
from compiler.sources import Loader, common_root
from compiler.version import COMPILER_VERSION
from contract.loaded import LoadedMapping, load_mapping
from contract.manifest import BaseFile, ManifestEntry


@dataclass(frozen=True, slots=True)
class CompiledMapping:
    """A checked mapping and the source text of its module."""

    mapping: ir.Mapping
    code: str

    @property
    def module_file(self) -> str:
        """The module's file name in a bundle: the mapping name as a Python module name."""
        return module_file_name(self.mapping.name)

    def manifest_entry(self) -> ManifestEntry:
        """The mapping as a bundle's manifest lists it."""
        mapping = self.mapping
        return ManifestEntry(
            name=mapping.name,
            product_type=mapping.product_type,
            version=mapping.version,
            source=mapping.source.path,
            source_sha256=mapping.source.sha256,
            bases=tuple(BaseFile(source=base.path, sha256=base.sha256) for base in mapping.bases),
            module=self.module_file,
            module_sha256=hashlib.sha256(self.code.encode("utf-8")).hexdigest(),
            compiler_version=COMPILER_VERSION,
        )

    def load(self) -> LoadedMapping:
        """Run the generated module through the contract's loader, as the runtime will."""
        entry = self.manifest_entry()
        return load_mapping(
            self.code.encode("utf-8"),
            entry,
            name=entry.name,
            origin=self.module_file,
            where=self.mapping.source.path,
        )


def module_file_name(mapping_name: str) -> str:
    """`cliente-e` -> `cliente_e.py`; a name starting with a digit gets a `m_` prefix."""
    stem = mapping_name.replace("-", "_")
    return f"m_{stem}.py" if stem[:1].isdigit() else f"{stem}.py"


def check_file(
    path: Path,
    *,
    root: Path | None = None,
    display: str | None = None,
    product_types: Collection[str] | None = None,
    overlay: Mapping[str, str] | None = None,
) -> ir.Mapping:
    """Check one `.map` file on disk (and what it extends); MapError lists every problem.

    `root` is the mappings root (`extends` stays inside it; recorded paths
    start there); by default the one `common_root` finds for the file.
    Warnings ride on the result (`mapping.warnings`); `product_types` are the
    types a sync can load, when the caller knows them. `overlay` (display path
    -> text) is read instead of the disk: an editor's unsaved text of the file
    or of a base it extends, checked by the same rules as the saved file.
    """
    loader = Loader(root if root is not None else common_root([path]), overlay)
    return check_mapping(loader.load(path, display), loader.load_base, product_types=product_types)


def compile_file(
    path: Path, *, root: Path | None = None, display: str | None = None
) -> CompiledMapping:
    """Check and generate one `.map` file on disk."""
    mapping = check_file(path, root=root, display=display)
    return CompiledMapping(mapping, generate(mapping))


def check_source(
    source: str,
    path: str = "mapping.map",
    *,
    files: Mapping[str, str] | None = None,
    product_types: Collection[str] | None = None,
) -> ir.Mapping:
    """Check `.map` text held in memory; `files` holds other files it may extend, by path."""
    location = Path(path)
    overlay = {**(files or {}), path: source}
    loader = Loader(location.parent, overlay)
    return check_mapping(loader.load(location, path), loader.load_base, product_types=product_types)


def compile_source(
    source: str, path: str = "mapping.map", *, files: Mapping[str, str] | None = None
) -> CompiledMapping:
    """Check and generate `.map` text held in memory."""
    mapping = check_source(source, path, files=files)
    return CompiledMapping(mapping, generate(mapping))
