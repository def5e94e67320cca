"""Collecting every problem of a check run before raising one MapError with all of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.spans import inside
from dsl.ast import Literal, Span
from dsl.diagnostics import Diagnostic, MapError


@dataclass
class Problems:
    """Diagnostics gathered across the files of one mapping (a file and what it extends)."""

    sources: dict[str, str] = field(default_factory=dict)
    found: list[Diagnostic] = field(default_factory=list)

    def add_source(self, path: str, source: str) -> None:
        """Remember a file's text so that its diagnostics can show the line."""
        self.sources[path] = source

    def error(self, path: str, span: Span, message: str, hint: str | None = None) -> None:
        """Record one error at `span` of `path`."""
        self.found.append(Diagnostic(path, span, message, "error", hint))

    def error_inside(
        self,
        path: str,
        literal: Literal,
        start: int,
        end: int | None,
        message: str,
        hint: str | None = None,
    ) -> None:
        """Record an error at characters start:end of a string literal's value."""
        span = inside(self.sources.get(path, ""), literal, start, end)
        self.error(path, span, message, hint)

    def extend(self, error: MapError) -> None:
        """Take over the diagnostics (and sources) of an error raised by another stage."""
        self.found.extend(error.diagnostics)
        self.sources.update(error.sources)

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_if_any(self) -> None:
        """Raise MapError with everything found, if anything was."""
        if self.found:
            raise MapError(self.found, self.sources)
