"""Applying a compiled mapping to ERP records, one outcome per record as `siesa map run` says it.

`siesa map run` prints these outcomes (results on stdout, the rest on
stderr) and the playground page (`siesa map serve`) shows them: one
implementation, so both name a rejected record, a skip or a failure the same
way, and count them as the transformer does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, Literal

from compiler.examples import issue_text
from contract import jsontext
from contract.issues import rejected_lines
from contract.linemap import failure_reason, locate
from contract.loaded import LoadedMapping

MAX_RECORD_DEPTH = 200
"""Arrays and objects nested deeper than this are refused before parsing (Python's recursion
limit would otherwise stop the parser, or the code that shows the value, with a traceback)."""

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


@dataclass(frozen=True, slots=True)
class Input:
    """One ERP record to map, or why its text could not be read; `where` names it (`file:line`)."""

    where: str
    record: object | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Mapped:
    """A product record the mapping made (one ERP record may make several)."""

    where: str
    canonical: dict[str, Any]
    product: dict[str, Any]

    @property
    def text(self) -> str:
        """The JSON line `siesa map run` prints on stdout."""
        return jsontext.dumps({"canonical": self.canonical, "product": self.product})


@dataclass(frozen=True, slots=True)
class Note:
    """A record or line rejected or skipped, or a warning: the line `siesa map run` prints on stderr."""

    kind: Literal["rejected", "skipped", "warning"]
    text: str


Outcome = Mapped | Note


@dataclass(slots=True)
class Tally:
    """What a run of records came to, counted as the transformer counts them."""

    mapped: int = 0
    rejected: int = 0
    skipped: int = 0

    def add(self, outcome: Outcome) -> None:
        """Count one outcome (a warning counts for nothing)."""
        if isinstance(outcome, Mapped):
            self.mapped += 1
        elif outcome.kind == "rejected":
            self.rejected += 1
        elif outcome.kind == "skipped":
            self.skipped += 1

    def line(self) -> str:
        """The closing line of `siesa map run`."""
        return f"{self.mapped} record(s) mapped, {self.rejected} rejected, {self.skipped} skipped"


def _too_deep(line: str) -> bool:
    """The JSON text nests arrays and objects more than MAX_RECORD_DEPTH deep."""
    if line.count("[") + line.count("{") <= MAX_RECORD_DEPTH:
        return False
    brackets = (_BRACKET_STEP.get(char, 0) for char in _JSON_STRING.sub("", line))
    return max(accumulate(brackets, initial=0)) > MAX_RECORD_DEPTH


def json_lines(lines: Iterable[str], name: str) -> Iterator[Input]:
    """An Input for each non-blank line of JSON-lines text, named `name:N`."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        if _too_deep(line):
            problem = f"the record is nested more than {MAX_RECORD_DEPTH} levels deep"
            yield Input(where, None, problem)
            continue
        try:
            yield Input(where, jsontext.loads(line))
        except ValueError as exc:
            yield Input(where, None, f"not valid JSON: {exc}")


def _record_name(record_id: object) -> str:
    """`record 'P2'`, or `a record with no id` when its id could not be read."""
    return "a record with no id" if record_id is None else f"record {record_id!r}"


def _reasons(errors: Iterable[Mapping[str, object]]) -> str:
    """`error: FIELD (line N): REASON (...); error: ...` for a rejected record or line."""
    return "; ".join(f"error: {issue_text(i, action=True)}" for i in errors) or "no reason given"


def _failure(exc: Exception, mapping: LoadedMapping, root: Path) -> str:
    """Why generated code raised, at the `.map` file and line (under `root`) it was compiled from."""
    where = locate(exc, mapping)
    return failure_reason(exc, where.under(str(root)) if where is not None else None)


def apply_one(mapping: LoadedMapping, item: Input, root: Path) -> list[Outcome]:
    """What one input becomes: its product records, rejects, a skip and warnings, in print order.

    One ERP record may make several product records (a one-to-many mapping);
    a rejected line is named by its own id and told once however many of its
    fields failed; a record that makes no line is skipped, as the transformer
    counts them. `root` is the mappings root, to name the `.map` line of a failure.
    """
    where = item.where
    if item.problem is not None:
        return [Note("rejected", f"{where}: rejected: {item.problem}")]
    try:
        canonicals, issues = mapping.map_record(item.record)
        products = [mapping.to_product(canonical) for canonical in canonicals]
    except Exception as exc:
        return [Note("rejected", f"{where}: rejected: {_failure(exc, mapping, root)}")]
    record_name = _record_name(issues[0]["record_id"] if issues else None)
    found: list[Outcome] = [
        Note("warning", f"{where}: {record_name}: warning: {issue_text(issue, action=True)}")
        for issue in issues
        if issue["severity"] == "warning"
    ]
    skips = [issue for issue in issues if issue.get("action") == "skip"]
    errors = [issue for issue in issues if issue["severity"] == "error"]
    if not canonicals and (skips or not errors):  # as the transformer counts it
        reason = skips[0].get("reason") if skips else "the mapping made no product record of it"
        return [*found, Note("skipped", f"{where}: {record_name} skipped: {reason}")]
    if any(issue.get("part") is None for issue in errors):
        return [*found, Note("rejected", f"{where}: {record_name} rejected: {_reasons(errors)}")]
    for line in rejected_lines(errors):  # a line of a one-to-many record, rejected on its own
        text = f"{where}: {_record_name(line.record_id)} rejected: {_reasons(line.issues)}"
        found.append(Note("rejected", text))
    found.extend(
        Mapped(where, canonical, product)
        for canonical, product in zip(canonicals, products, strict=True)
    )
    return found
