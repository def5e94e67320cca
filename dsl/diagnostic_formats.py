"""Diagnostics in the formats CI tools read: text for people, JSON, GitHub Actions annotations.

`siesa map check --format text|json|github` picks one. Text is what a person
reads in a terminal (`path:line:col: severity: message`, the line, a caret);
JSON is one document, a list of objects; `github` is one workflow command per
diagnostic, which GitHub shows as an annotation on the pull request's diff.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from dsl.diagnostics import Diagnostic

OutputFormat = Literal["text", "json", "github"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("text", "json", "github")
GITHUB_TITLE = "siesa map check"


def as_records(diagnostics: Iterable[Diagnostic]) -> list[dict[str, object]]:
    """One plain object per diagnostic; positions are 1-based, ends exclusive."""
    return [
        {
            "file": d.path,
            "line": d.span.line,
            "col": d.span.column,
            "end_line": d.span.end_line,
            "end_col": d.span.end_column,
            "severity": d.severity,
            "message": d.message,
            "hint": d.hint,
        }
        for d in diagnostics
    ]


def as_json(diagnostics: Iterable[Diagnostic]) -> str:
    """The diagnostics as one JSON document: a list, `[]` when there are none."""
    return json.dumps(as_records(diagnostics), indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF escaped as GitHub's toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """A workflow command's property value: as a message, and `:` and `,` escaped too."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(diagnostic: Diagnostic) -> str:
    """`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message` (hint on a new line)."""
    span = diagnostic.span
    properties = {
        "file": diagnostic.path,
        "line": str(span.line),
        "col": str(span.column),
        "endLine": str(span.end_line),
        "endColumn": str(span.end_column),
        "title": GITHUB_TITLE,
    }
    shown = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
    message = diagnostic.message
    if diagnostic.hint is not None:
        message += f"\nhint: {diagnostic.hint}"
    command = "notice" if diagnostic.severity == "note" else diagnostic.severity
    return f"::{command} {shown}::{_escape_data(message)}"


def as_github(diagnostics: Iterable[Diagnostic]) -> str:
    """One annotation line per diagnostic."""
    return "\n".join(github_annotation(d) for d in diagnostics)
