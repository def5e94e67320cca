"""Compile errors as the user sees them: `path:line:col: error: message`, the line, a caret."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from dsl.ast import Span

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in one file, at one span, with an optional hint."""

    path: str
    span: Span
    message: str
    severity: Severity = "error"
    hint: str | None = None

    def render(self, source: str) -> str:
        """The diagnostic as printed: header, numbered source line, caret, hint."""
        header = f"{self.path}:{self.span.line}:{self.span.column}: {self.severity}: {self.message}"
        lines = source.splitlines()
        if not 1 <= self.span.line <= len(lines):
            return header if self.hint is None else f"{header}\n  hint: {self.hint}"
        text = lines[self.span.line - 1].expandtabs(1)
        gutter = f"{self.span.line:>5} | "
        width = self.caret_width(text)
        caret = " " * (len(gutter) - 2) + "| " + " " * (self.span.column - 1) + "^" * width
        out = [header, gutter + text, caret]
        if self.hint is not None:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)

    def caret_width(self, line_text: str) -> int:
        """How many characters the caret underlines on the span's first line (at least one).

        The span's width when it ends on the line it starts on, else one; never
        past the line's end. An editor underlines the same characters.
        """
        span = self.span
        width = span.end_column - span.column if span.end_line == span.line else 1
        return max(1, min(width, len(line_text) - span.column + 1))


def render_all(diagnostics: Iterable[Diagnostic], sources: Mapping[str, str]) -> str:
    """Every diagnostic, rendered against its own file, separated by blank lines."""
    return "\n\n".join(d.render(sources.get(d.path, "")) for d in diagnostics)


def in_source_order(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Diagnostics sorted by file, then position: the order every output shows them in."""
    return tuple(sorted(diagnostics, key=lambda d: (d.path, d.span.line, d.span.column)))


@dataclass(frozen=True, slots=True)
class Findings:
    """Diagnostics that do not stop compiling (warnings, and notes that only inform), with the
    files' text to show them."""

    diagnostics: tuple[Diagnostic, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)

    def render(self) -> str:
        """Every diagnostic, rendered against its own file, separated by blank lines."""
        return render_all(self.diagnostics, self.sources)


class MapError(Exception):
    """Raised by any stage that found problems; carries all of them, in source order."""

    def __init__(self, diagnostics: Iterable[Diagnostic], sources: Mapping[str, str]) -> None:
        self.diagnostics = in_source_order(diagnostics)
        self.sources = dict(sources)
        super().__init__(f"{len(self.diagnostics)} error(s)")

    def render(self) -> str:
        """Every diagnostic, rendered against its own file, separated by blank lines."""
        return render_all(self.diagnostics, self.sources)
