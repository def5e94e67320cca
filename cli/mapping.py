"""`siesa map ...`: check, compile, format, run, test and preview `.map` files.

Mounted by the `siesa` console script (cli/app.py). A user error (a
bad file, a missing path, a bad JSON line) is a message and an exit code,
never a traceback. Diagnostics, rejects and failures go to stderr; results
to stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, TextIO

import typer

from cli.common import EndpointUrl, JsonFlag, deployment_for, fail, json_mode, operator_errors, out
from cli.common import print_json as emit_json
from cli.lsp import lsp_command
from cli.serve import serve_command
from compiler.apply import Mapped, Tally, apply_one, json_lines
from compiler.bundle import BundleWriteError, compile_paths
from compiler.examples import run_examples
from compiler.pipeline import check_file, compile_file
from compiler.sources import common_root, find_map_files
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


STDIN = "-"
EXIT_REJECTS = 3
"""`siesa map run`'s exit code when some record was rejected (as `siesa sync`'s partial)."""


def _apply(mapping: LoadedMapping, file: Path, lines: Iterable[str], name: str) -> Tally:
    """Map each line: results on stdout, rejects, skips and warnings on stderr."""
    root = common_root([file])
    tally = Tally()
    for item in json_lines(lines, name):
        for outcome in apply_one(mapping, item, root):
            tally.add(outcome)
            if isinstance(outcome, Mapped):
                typer.echo(outcome.text)
            else:
                _err(outcome.text)
    return tally


def _load_local(file: Path) -> LoadedMapping:
    """The engineer's own `.map` file compiled and loaded here; its diagnostics and exit 1 if bad."""
    try:
        compiled = compile_file(file, display=str(file))
    except MapError as exc:
        if json_mode():  # `map preview --json`: the diagnostics as the error object
            raise fail(exc.render().rstrip(), kind="MapError") from None
        _err(exc.render())
        raise typer.Exit(1) from None
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}", kind="OSError") from None
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
            tally = _apply(mapping, file, _text_stdin(), name)
        else:
            with input.open(encoding="utf-8") as lines:
                tally = _apply(mapping, file, lines, name)
    except (OSError, UnicodeDecodeError) as exc:
        _err(f"error: cannot read {name}: {exc}")
        raise typer.Exit(1) from None
    _err(tally.line())
    if tally.rejected and not allow_rejects:
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
        typer.echo(report.summary())
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
map_app.command("serve")(serve_command)
