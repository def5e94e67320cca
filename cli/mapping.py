"""`siesa map ...`: check, compile, format, run, test and preview `.map` files.

Mounted by the `siesa` console script (cli/app.py). A user error (a
bad file, a missing path, a bad JSON line) is a message and an exit code,
never a traceback. Diagnostics, rejects and failures go to stderr; results
to stdout.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Annotated, TextIO

import typer

from cli.common import EndpointUrl, JsonFlag, deployment_for, operator_errors, out
from cli.common import print_json as emit_json
from cli.lsp import lsp_command
from compiler.bundle import BundleWriteError, compile_paths
from compiler.examples import issue_text, run_examples
from compiler.pipeline import check_file, compile_file
from compiler.sources import common_root, find_map_files
from contract import jsontext
from contract.issues import rejected_lines
from contract.linemap import failure_reason, locate
from contract.loaded import LoadedMapping
from contract.manifest import MANIFEST_NAME
from dsl.ast import Span
from dsl.diagnostic_formats import OutputFormat, as_github, as_json
from dsl.diagnostics import Diagnostic, MapError, in_source_order, render_all

map_app = typer.Typer(
    help="Check, compile, format, run and test .map mapping files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_FILE_START = Span(1, 1, 1, 1)
PathsArg = Annotated[
    list[Path], typer.Argument(help=".map files, or directories searched recursively")
]


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _map_files(paths: list[Path]) -> list[Path]:
    """The .map files the arguments name; exits 1 when a path is missing or none are found."""
    try:
        files = find_map_files(paths)
    except OSError as exc:
        _err(f"error: {exc.filename}: {exc.strerror}")
        raise typer.Exit(1) from None
    if not files:
        _err("error: no .map files found in " + ", ".join(str(path) for path in paths))
        raise typer.Exit(1)
    return files


@dataclass
class _CheckRun:
    """What checking some files found: every diagnostic once, the files' text, who had errors."""

    diagnostics: dict[tuple[str, Span, str, str], Diagnostic] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    files_with_errors: int = 0

    def add(
        self, diagnostics: Iterable[Diagnostic], sources: Mapping[str, str]
    ) -> list[Diagnostic]:
        """Keep and return the new diagnostics (a base file's come once, however many extend it)."""
        self.sources.update(sources)
        new: list[Diagnostic] = []
        for diagnostic in diagnostics:
            key = (diagnostic.path, diagnostic.span, diagnostic.severity, diagnostic.message)
            if key not in self.diagnostics:
                self.diagnostics[key] = diagnostic
                new.append(diagnostic)
        return new

    def count(self, severity: str) -> int:
        return sum(1 for d in self.diagnostics.values() if d.severity == severity)


def _check_one(
    path: Path, root: Path, product_types: Collection[str]
) -> tuple[tuple[Diagnostic, ...], Mapping[str, str], bool]:
    """A file's diagnostics (errors, or warnings when there are none), their sources, any error."""
    try:
        mapping = check_file(path, root=root, display=str(path), product_types=product_types)
    except MapError as exc:
        return exc.diagnostics, exc.sources, True
    except OSError as exc:
        unread = Diagnostic(str(path), _FILE_START, f"cannot read the file: {exc.strerror}")
        return (unread,), {}, True
    return mapping.warnings.diagnostics, mapping.warnings.sources, False


@map_app.command("check")
def check_command(
    paths: PathsArg,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="text (people), json (one document on stdout) or github (Actions annotations)",
        ),
    ] = "text",
    strict: Annotated[
        bool, typer.Option("--strict", help="warnings fail the check too (exit 1), as in CI")
    ] = False,
) -> None:
    """Check .map files; every problem is printed as path:line:col with the line and a caret.

    Exit 0 when clean (warnings allowed unless --strict), 1 on any error.
    """
    from runtime.product_types import registered_product_types

    files = _map_files(paths)
    root = common_root(paths)
    product_types = registered_product_types()
    run = _CheckRun()
    text = output == "text"
    for path in files:
        diagnostics, sources, has_error = _check_one(path, root, product_types)
        warned = any(d.severity == "warning" for d in diagnostics)
        run.files_with_errors += has_error or (strict and warned)
        new = run.add(diagnostics, sources)
        if text and new:
            _err(render_all(new, run.sources) + "\n")
    shown = in_source_order(run.diagnostics.values())
    if output == "json":
        typer.echo(as_json(shown))
    elif output == "github" and shown:
        typer.echo(as_github(shown))
    warnings = run.count("warning")
    if run.files_with_errors:
        why = " (warnings count under --strict)" if strict and warnings else ""
        _err(f"{run.files_with_errors} of {len(files)} file(s) have errors{why}")
        raise typer.Exit(1)
    summary = f"ok: {len(files)} file(s) checked" + (f", {warnings} warning(s)" if warnings else "")
    if text:
        typer.echo(summary)
    else:
        _err(summary)


@map_app.command("compile")
def compile_command(
    paths: PathsArg,
    out: Annotated[Path, typer.Option("--out", help="bundle directory to write")],
) -> None:
    """Compile .map files into a bundle: one module per mapping plus manifest.json."""
    _map_files(paths)
    try:
        manifest = compile_paths(paths, out)
    except MapError as exc:
        _err(exc.render() + "\n")
        _err("nothing was written")
        raise typer.Exit(1) from None
    except (BundleWriteError, OSError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(1) from None
    for entry in manifest.entries:
        typer.echo(f"{entry.source} -> {out / entry.module}")
    typer.echo(f"wrote {len(manifest.entries)} module(s) and {MANIFEST_NAME} to {out}")


@map_app.command("fmt")
def fmt_command(
    paths: PathsArg,
    check: Annotated[
        bool, typer.Option("--check", help="change nothing; exit 1 if a file would change")
    ] = False,
    upgrade: Annotated[
        bool,
        typer.Option(
            "--upgrade", help="also rewrite `version 1` to `version 2` (a superset: nothing else)"
        ),
    ] = False,
) -> None:
    """Rewrite .map files in the one canonical layout (idempotent)."""
    from dsl.formatter import format_source

    changed: list[Path] = []
    failed = False
    for path in _map_files(paths):
        try:
            source = path.read_text(encoding="utf-8")
            formatted = format_source(source, str(path), upgrade=upgrade)
        except MapError as exc:
            failed = True
            _err(exc.render() + "\n")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            failed = True
            _err(f"{path}: error: cannot read the file: {exc}")
            continue
        if formatted != source:
            changed.append(path)
            if check:
                _err(f"would reformat {path}")
            else:
                path.write_text(formatted, encoding="utf-8")
                typer.echo(f"reformatted {path}")
    if failed or (check and changed):
        raise typer.Exit(1)


MAX_RECORD_DEPTH = 200
"""Arrays and objects nested deeper than this are refused before parsing (Python's recursion
limit would otherwise stop the parser, or the code that shows the value, with a traceback)."""

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _too_deep(line: str) -> bool:
    """The JSON text nests arrays and objects more than MAX_RECORD_DEPTH deep."""
    if line.count("[") + line.count("{") <= MAX_RECORD_DEPTH:
        return False
    brackets = (_BRACKET_STEP.get(char, 0) for char in _JSON_STRING.sub("", line))
    return max(accumulate(brackets, initial=0)) > MAX_RECORD_DEPTH


def _records(lines: Iterable[str]) -> Iterator[tuple[int, object | None, str | None]]:
    """(line number, record, error) for each non-blank line of JSON-lines text."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if _too_deep(line):
            yield number, None, f"the record is nested more than {MAX_RECORD_DEPTH} levels deep"
            continue
        try:
            yield number, jsontext.loads(line), None
        except ValueError as exc:
            yield number, None, f"not valid JSON: {exc}"


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


STDIN = "-"
EXIT_REJECTS = 3
"""`siesa map run`'s exit code when some record was rejected (as `siesa sync`'s partial)."""


def _apply(
    mapping: LoadedMapping, file: Path, lines: Iterable[str], name: str
) -> tuple[int, int, int]:
    """Map each line: results on stdout, rejects, skips and warnings on stderr.

    Returns (product records made, records or lines rejected, records skipped).
    One ERP record may make several product records (a one-to-many mapping),
    each printed on its own line; a rejected line is named by its own id and
    counted once however many of its fields failed; a record that makes no
    line is skipped, as the transformer counts them.
    """
    accepted = rejected = skipped = 0
    for number, record, problem in _records(lines):
        where = f"{name}:{number}"
        if problem is not None:
            rejected += 1
            _err(f"{where}: rejected: {problem}")
            continue
        try:
            canonicals, issues = mapping.map_record(record)
            products = [mapping.to_product(canonical) for canonical in canonicals]
        except Exception as exc:
            rejected += 1
            _err(f"{where}: rejected: {_failure(exc, mapping, common_root([file]))}")
            continue
        record_name = _record_name(issues[0]["record_id"] if issues else None)
        for issue in issues:
            if issue["severity"] == "warning":
                _err(f"{where}: {record_name}: warning: {issue_text(issue, action=True)}")
        skips = [issue for issue in issues if issue.get("action") == "skip"]
        errors = [issue for issue in issues if issue["severity"] == "error"]
        if not canonicals and (skips or not errors):  # as the transformer counts it
            skipped += 1
            reason = skips[0].get("reason") if skips else "the mapping made no product record of it"
            _err(f"{where}: {record_name} skipped: {reason}")
            continue
        if any(issue.get("part") is None for issue in errors):
            rejected += 1
            _err(f"{where}: {record_name} rejected: {_reasons(errors)}")
            continue
        for line in rejected_lines(errors):  # a line of a one-to-many record, rejected on its own
            rejected += 1
            _err(f"{where}: {_record_name(line.record_id)} rejected: {_reasons(line.issues)}")
        for canonical, product in zip(canonicals, products, strict=True):
            accepted += 1
            typer.echo(jsontext.dumps({"canonical": canonical, "product": product}))
    return accepted, rejected, skipped


def _load_local(file: Path) -> LoadedMapping:
    """The engineer's own `.map` file compiled and loaded here; its diagnostics and exit 1 if bad."""
    try:
        compiled = compile_file(file, display=str(file))
    except MapError as exc:
        _err(exc.render())
        raise typer.Exit(1) from None
    except OSError as exc:
        _err(f"error: {file}: {exc.strerror}")
        raise typer.Exit(1) from None
    return compiled.load()


@map_app.command("run")
def run_command(
    file: Annotated[Path, typer.Argument(help="the .map file to apply")],
    input: Annotated[
        Path,
        typer.Option("--input", help="newline-delimited Siesa records; `-` reads standard input"),
    ],
    allow_rejects: Annotated[
        bool,
        typer.Option(
            "--allow-rejects", help="exit 0 even when records are rejected (default: exit 3)"
        ),
    ] = False,
) -> None:
    """Apply a mapping to Siesa records: canonical and product JSON lines on stdout, rejects on stderr.

    Exit 0 when every record mapped, 3 when some were rejected (0 with
    --allow-rejects), 1 when the mapping does not compile or the input cannot be read.
    """
    mapping = _load_local(file)
    from_stdin = str(input) == STDIN
    name = "stdin" if from_stdin else str(input)
    try:
        if from_stdin:
            accepted, rejected, skipped = _apply(mapping, file, _text_stdin(), name)
        else:
            with input.open(encoding="utf-8") as lines:
                accepted, rejected, skipped = _apply(mapping, file, lines, name)
    except (OSError, UnicodeDecodeError) as exc:
        _err(f"error: cannot read {name}: {exc}")
        raise typer.Exit(1) from None
    _err(f"{accepted} record(s) mapped, {rejected} rejected, {skipped} skipped")
    if rejected and not allow_rejects:
        raise typer.Exit(EXIT_REJECTS)


def _text_stdin() -> TextIO:
    """Standard input read as UTF-8, whatever the locale says."""
    stream = sys.stdin
    if hasattr(stream, "reconfigure"):
        stream.reconfigure(encoding="utf-8")
    return stream


@map_app.command("test")
def test_command(paths: PathsArg) -> None:
    """Run the examples written in .map files; exit 1 if any fails."""
    files = _map_files(paths)
    root = common_root(paths)
    total = failed = 0
    broken = False
    for path in files:
        try:
            compiled = compile_file(path, root=root, display=str(path))
        except MapError as exc:
            broken = True
            _err(exc.render() + "\n")
            continue
        except OSError as exc:
            broken = True
            _err(f"{path}: error: cannot read the file: {exc.strerror}")
            continue
        report = run_examples(compiled, str(path))
        total += report.total
        failed += len(report.failures)
        for failure in report.failures:
            _err(failure.render() + "\n")
        typer.echo(
            f"{path}: {report.total - len(report.failures)} of {report.total} example(s) passed"
        )
    if broken or failed:
        _err(
            f"{failed} of {total} example(s) failed"
            + ("; some files do not compile" if broken else "")
        )
        raise typer.Exit(1)
    typer.echo(f"ok: {total} example(s) passed")


@map_app.command("preview")
def preview_command(
    file: Annotated[
        Path, typer.Argument(help="the changed .map file (compiled here, not uploaded)")
    ],
    client: Annotated[
        str,
        typer.Option(
            "--client", help="the client whose past run to preview against", show_default=False
        ),
    ],
    run: Annotated[
        str | None,
        typer.Option("--run", help="the run to compare with (default: its last finished run)"),
    ] = None,
    json_output: JsonFlag = False,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Preview a changed mapping on the ERP records of a client's past run: what would change.

    Reads only (run history and run data); sends nothing to Siesa or the product.
    Exit 0 when nothing changes, 3 when something does, 1 on errors.
    """
    from ops.preview import preview
    from ops.preview_render import preview_tables

    mapping = _load_local(file)
    with operator_errors():
        report = preview(mapping, str(file), client, run, deployment=deployment_for(endpoint_url))
    if json_output:
        emit_json(report.to_json())
    else:
        console = out()
        for table in preview_tables(report):
            console.print(table)
        for note in report.notes:
            console.print(f"note: {note}", markup=False, highlight=False)
    raise typer.Exit(report.exit_code)


map_app.command("lsp")(lsp_command)
