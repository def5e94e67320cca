"""Running the `example` blocks a `.map` file carries against its compiled module.

Each example feeds one Siesa record to `to_canonical` and compares what comes
out with what the example expects: the canonical record, the product record
(exactly, as JSON, or the part of it given by `expect product contains`), a
rejection on exactly the named fields (bare `expect reject`: by a `reject
when` rule), a skip by a `skip when` rule (`expect skip`), and warnings on
exactly the named fields (`expect warning`). A failure names the example, its line and shows a
diff.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from compiler import ir
from compiler.pipeline import CompiledMapping
from contract import jsontext
from contract.linemap import MapLocation, failure_reason, locate
from contract.loaded import LoadedMapping


@dataclass(frozen=True, slots=True)
class ExampleFailure:
    """One example that did not hold."""

    path: str
    line: int
    name: str
    message: str

    def render(self) -> str:
        """`path:line: example "name" failed: message` (the message may span lines)."""
        return f"{self.path}:{self.line}: example {json.dumps(self.name, ensure_ascii=False)} failed: {self.message}"


@dataclass(frozen=True, slots=True)
class ExampleReport:
    """The outcome of a file's examples."""

    path: str
    total: int
    failures: tuple[ExampleFailure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """`path: N of M example(s) passed`, the line `siesa map test` prints for a file."""
        return f"{self.path}: {self.total - len(self.failures)} of {self.total} example(s) passed"


def _json(value: object) -> str:
    """JSON as the product gets it: a Decimal (`as number`) with its digits, 12.50 not 12.5."""
    return jsontext.dumps(value, indent=2, sort_keys=True)


def _diff(expected: object, actual: object, what: str, title: str = "") -> str | None:
    """None when equal as JSON (types included: 100 is not 100.0 nor "100"), else a diff."""
    want, got = _json(expected), _json(actual)
    if want == got:
        return None
    lines = difflib.unified_diff(
        want.splitlines(), got.splitlines(), f"expected {what}", f"actual {what}", lineterm=""
    )
    return (title or f"the {what} record differs") + ":\n" + "\n".join(lines)


def _part(expected: object, actual: object) -> object:
    """`actual` cut down to the keys `expected` names, object by object (lists stay whole)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {key: _part(value, actual[key]) for key, value in expected.items() if key in actual}
    return actual


def _warnings_differ(expected: tuple[str, ...], issues: list[dict[str, object]]) -> str | None:
    """Why the fields that warned are not exactly `expected`, or None when they are."""
    warnings = [issue for issue in issues if issue["severity"] == "warning"]
    warned = sorted({str(issue["field"]) for issue in warnings})
    if warned == sorted(expected):
        return None
    want = ", ".join(sorted(expected))
    if not warned:
        return f"expected a warning on {want}, but there was none"
    return f"expected a warning on {want}, but the warnings were on {', '.join(warned)}: {_describe(warnings)}"


def issue_text(issue: Mapping[str, object], *, action: bool = False) -> str:
    """`field (line N): reason (value V)`; a part that is unknown (None) is left out."""
    field = issue.get("field")
    line = issue.get("line")
    where = " ".join(
        part
        for part in ("" if field is None else str(field), "" if line is None else f"(line {line})")
        if part
    )
    extra = f"value {jsontext.dumps(issue.get('value'))}"
    if action and issue.get("action") is not None:
        extra += f", action {issue['action']}"
    reason = f"{issue.get('reason') or 'no reason given'} ({extra})"
    return f"{where}: {reason}" if where else reason


def _describe(issues: list[dict[str, object]]) -> str:
    return "; ".join(issue_text(issue) for issue in issues)


def _check_lines(mapping: LoadedMapping, example: ir.Example) -> str | None:
    """A one-to-many mapping's example: every line's product record, rejects and skips."""
    records, issues = mapping.module.map_record(copy.deepcopy(example.input))
    errors = [issue for issue in issues if issue["severity"] == "error"]
    skipped = [issue for issue in issues if issue.get("action") == "skip"]
    if example.expect_warning is not None:
        warned = _warnings_differ(example.expect_warning, issues)
        if warned is not None:
            return warned
    if example.expect_skip:
        return None if skipped else "expected the record to be skipped, but it was not"
    if skipped:
        return f"the record was skipped ({skipped[0]['reason']}, line {skipped[0]['line']})"
    problems: list[str] = []
    if example.expect_reject is not None:
        expected = sorted(example.expect_reject)
        rejected_on = sorted({str(issue["field"]) for issue in errors if issue["field"]})
        if not errors:
            return "expected a rejection, but every line was accepted"
        if expected and rejected_on != expected:
            return (
                f"expected a rejection on {', '.join(expected)}, "
                f"but it was rejected on {', '.join(rejected_on)}: {_describe(errors)}"
            )
        if example.expect_products is None:
            return None
    elif errors:
        problems.append(f"some lines were rejected: {_describe(errors)}")
    if example.expect_products is not None:
        products = [mapping.to_product(record) for record in records]
        problems.append(_diff(example.expect_products, products, "products") or "")
    message = "\n".join(problem for problem in problems if problem)
    return message or None


def _check(mapping: LoadedMapping, example: ir.Example, *, lines: bool = False) -> str | None:
    """Why the example fails, or None when it holds; `lines`: a one-to-many mapping."""
    if lines:
        return _check_lines(mapping, example)
    canonical, issues = mapping.to_canonical(copy.deepcopy(example.input))
    errors = [issue for issue in issues if issue["severity"] == "error"]
    skipped = [issue for issue in issues if issue.get("action") == "skip"]
    if example.expect_skip:
        if skipped:
            return None
        if canonical is None:
            return f"expected the record to be skipped, but it was rejected: {_describe(errors)}"
        return "expected the record to be skipped, but it was mapped"
    if skipped:
        return f"the record was skipped ({skipped[0]['reason']}, line {skipped[0]['line']})"
    if example.expect_reject == ():
        by_rule = [issue for issue in errors if issue["field"] is None]
        if by_rule:
            return None
        if canonical is not None:
            return "expected a rejection by a `reject when` rule, but the record was accepted"
        return f"expected a rejection by a `reject when` rule, but: {_describe(errors)}"
    if example.expect_warning is not None:
        warned = _warnings_differ(example.expect_warning, issues)
        if warned is not None:
            return warned
    if example.expect_reject is not None:
        expected = sorted(example.expect_reject)
        if canonical is not None:
            return f"expected a rejection on {', '.join(expected)}, but the record was accepted"
        rejected_on = sorted({str(issue["field"]) for issue in errors})
        if rejected_on != expected:
            return (
                f"expected a rejection on {', '.join(expected)}, "
                f"but it was rejected on {', '.join(rejected_on)}: {_describe(errors)}"
            )
        return None
    if canonical is None:
        return f"the record was rejected: {_describe(errors)}"
    problems: list[str] = []
    if example.expect_canonical is not None:
        problems.append(_diff(example.expect_canonical, canonical, "canonical") or "")
    if example.expect_product is not None or example.expect_product_contains is not None:
        product = mapping.to_product(canonical)
        if example.expect_product is not None:
            problems.append(_diff(example.expect_product, product, "product") or "")
        if example.expect_product_contains is not None:
            part = example.expect_product_contains
            title = "the product record does not contain what the example expects"
            problems.append(_diff(part, _part(part, product), "product", title) or "")
    message = "\n".join(problem for problem in problems if problem)
    return message or None


def _shown_location(
    exc: Exception, mapping: LoadedMapping, compiled: CompiledMapping, path: str
) -> MapLocation | None:
    """Where the mapping raised, its file shown beside `path` (the line map's are root-relative)."""
    where = locate(exc, mapping)
    source = compiled.mapping.source.path
    if where is None or not path.endswith(source):
        return where
    return where.under(path[: len(path) - len(source)] or ".")


def run_examples(compiled: CompiledMapping, path: str) -> ExampleReport:
    """Run every example of a compiled mapping; `path` names the file in failures."""
    mapping = compiled.load()
    failures: list[ExampleFailure] = []
    for example in compiled.mapping.examples:
        try:
            message = _check(mapping, example, lines=compiled.mapping.each is not None)
        except Exception as exc:  # a bug in generated code must be reported, not crash the run
            message = failure_reason(exc, _shown_location(exc, mapping, compiled, path))
        if message is not None:
            failures.append(ExampleFailure(path, example.line, example.name, message))
    return ExampleReport(path, len(compiled.mapping.examples), tuple(failures))
