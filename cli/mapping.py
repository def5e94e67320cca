"""`siesa map ...`: check, compile, format, run and test `.map` files.

Mounted by the `siesa` console script (cli/app.py). A user error (a
bad file, a missing path, a bad JSON line) is a message and an exit code,
never a traceback. Diagnostics, rejects and failures go to stderr; results
to stdout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import Annotated

import typer

from compiler.bundle import BundleWriteError, compile_paths
from compiler.examples import run_examples
from compiler.pipeline import check_file, compile_file
from compiler.sources import common_root, find_map_files
from contract.linemap import failure_reason, locate
from contract.loaded import LoadedMapping
from contract.manifest import MANIFEST_NAME
from dsl.diagnostics import MapError

map_app = typer.Typer(
    help="Check, compile, format, run and test .map mapping files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

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


@map_app.command("check")
def check_command(paths: PathsArg) -> None:
    """Check .map files; every problem is printed as path:line:col with the line and a caret."""
    files = _map_files(paths)
    root = common_root(paths)
    failed = 0
    for path in files:
        try:
            check_file(path, root=root, display=str(path))
        except MapError as exc:
            failed += 1
            _err(exc.render() + "\n")
        except OSError as exc:
            failed += 1
            _err(f"{path}: error: cannot read the file: {exc.strerror}\n")
    if failed:
        _err(f"{failed} of {len(files)} file(s) have errors")
        raise typer.Exit(1)
    typer.echo(f"ok: {len(files)} file(s) checked")


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
) -> None:
    """Rewrite .map files in the one canonical layout (idempotent)."""
    from dsl.formatter import format_source

    changed: list[Path] = []
    failed = False
    for path in _map_files(paths):
        try:
            source = path.read_text(encoding="utf-8")
            formatted = format_source(source, str(path))
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


def _records(path: Path) -> Iterator[tuple[int, object | None, str | None]]:
    """(line number, record, error) for each non-blank line of a JSON-lines file."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if _too_deep(line):
                yield number, None, f"the record is nested more than {MAX_RECORD_DEPTH} levels deep"
                continue
            try:
                yield number, json.loads(line), None
            except ValueError as exc:
                yield number, None, f"not valid JSON: {exc}"


def _issue_text(issue: dict[str, object]) -> str:
    return (
        f"{issue['severity']}: {issue['field']} (line {issue['line']}): {issue['reason']}"
        f" (value {json.dumps(issue['value'], ensure_ascii=False)}, action {issue['action']})"
    )


def _failure(exc: Exception, mapping: LoadedMapping, root: Path) -> str:
    """Why generated code raised, at the `.map` file and line (under `root`) it was compiled from."""
    where = locate(exc, mapping)
    return failure_reason(exc, where.under(str(root)) if where is not None else None)


@map_app.command("run")
def run_command(
    file: Annotated[Path, typer.Argument(help="the .map file to apply")],
    input: Annotated[Path, typer.Option("--input", help="newline-delimited Siesa records")],
) -> None:
    """Apply a mapping to Siesa records: canonical and product JSON lines on stdout, rejects on stderr."""
    try:
        compiled = compile_file(file, display=str(file))
    except MapError as exc:
        _err(exc.render())
        raise typer.Exit(1) from None
    except OSError as exc:
        _err(f"error: {file}: {exc.strerror}")
        raise typer.Exit(1) from None
    mapping = compiled.load()
    accepted = rejected = 0
    try:
        for number, record, problem in _records(input):
            where = f"{input}:{number}"
            if problem is not None:
                rejected += 1
                _err(f"{where}: rejected: {problem}")
                continue
            try:
                canonical, issues = mapping.to_canonical(record)
                product = mapping.to_product(canonical) if canonical is not None else None
            except Exception as exc:
                rejected += 1
                _err(f"{where}: rejected: {_failure(exc, mapping, common_root([file]))}")
                continue
            record_id = issues[0]["record_id"] if issues else None
            for issue in issues:
                if issue["severity"] == "warning":
                    _err(f"{where}: record {record_id!r}: {_issue_text(issue)}")
            if canonical is None:
                rejected += 1
                reasons = "; ".join(_issue_text(i) for i in issues if i["severity"] == "error")
                _err(f"{where}: record {record_id!r} rejected: {reasons}")
                continue
            accepted += 1
            line = {"canonical": canonical, "product": product}
            typer.echo(json.dumps(line, ensure_ascii=False))
    except (OSError, UnicodeDecodeError) as exc:
        _err(f"error: cannot read {input}: {exc}")
        raise typer.Exit(1) from None
    _err(f"{accepted} record(s) mapped, {rejected} rejected")


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
