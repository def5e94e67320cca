"""A `.map` document as an editor holds it: checked and formatted as `siesa map check` / `fmt` do.

The one place that turns text not yet saved into the diagnostics the CLI
prints for the saved file: the same checks, the same mappings root (the
nearest `.mappings-root` above the file), `extends` read relative to the
document's own path, errors of every file involved, warnings and notes once
there is none. The language server uses it; so can anything else that shows
diagnostics while someone types (the playground page).
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from compiler import ir
from compiler.pipeline import check_file
from dsl.ast import Span
from dsl.diagnostics import Diagnostic, MapError
from dsl.formatter import format_source

_FILE_START = Span(1, 1, 1, 1)


@dataclass(frozen=True, slots=True)
class Checked:
    """What checking a document found.

    `diagnostics` are every file's errors, or, when there is none, the
    document's warnings and notes; `sources` (display path -> text) show any of
    them; `mapping` is the checked mapping when there was no error.
    """

    path: str
    diagnostics: tuple[Diagnostic, ...]
    sources: Mapping[str, str] = field(default_factory=dict)
    mapping: ir.Mapping | None = None

    def of_file(self, path: str) -> tuple[Diagnostic, ...]:
        """The diagnostics of one file (display path), in source order."""
        return tuple(d for d in self.diagnostics if d.path == path)


def display_path(path: Path) -> str:
    """How a document's path is shown and keyed: absolute and normalised, so that the
    base files `extends` names get the same kind of path (and an open base is found)."""
    return posixpath.normpath(str(path.absolute()))


def default_product_types() -> frozenset[str]:
    """The product types a sync can load, as `siesa map check` asks the runtime for them."""
    from runtime.product_types import registered_product_types

    return registered_product_types()


def check_text(
    text: str,
    path: Path,
    *,
    open_files: Mapping[str, str] | None = None,
    product_types: Collection[str] | None = None,
) -> Checked:
    """Check a document's text as if it were saved at `path`.

    `open_files` (display path -> text) are other documents the editor holds:
    a base file open with unsaved changes is checked as it reads on screen.
    `product_types` default to the runtime's, as the CLI's check does.
    """
    shown = display_path(path)
    overlay = {**(open_files or {}), shown: text}
    known = default_product_types() if product_types is None else product_types
    try:
        mapping = check_file(path, display=shown, product_types=known, overlay=overlay)
    except MapError as exc:
        return Checked(shown, exc.diagnostics, exc.sources)
    except OSError as exc:  # the mappings root or a path could not be resolved
        reason = exc.strerror or str(exc)
        return Checked(shown, (Diagnostic(shown, _FILE_START, f"cannot check: {reason}"),))
    findings = mapping.warnings
    return Checked(shown, findings.diagnostics, {**findings.sources, shown: text}, mapping)


def format_text(text: str, path: Path) -> str | None:
    """The document in `siesa map fmt`'s layout, or None when it does not parse."""
    try:
        return format_source(text, display_path(path))
    except MapError:
        return None
