"""`siesa map check --format text|json|github` and `--strict`: exact output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.mapping import map_app
from dsl.ast import Span
from dsl.diagnostic_formats import github_annotation
from dsl.diagnostics import Diagnostic

FORMATS = Path(__file__).parent / "golden" / "formats"
WARNINGS = Path(__file__).parent / "golden" / "warnings"
MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(FORMATS)
    return CliRunner()


def _expected(name: str) -> str:
    return (FORMATS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("output", ["text", "json", "github"])
def test_each_format_prints_exactly_its_golden_output(runner: CliRunner, output: str) -> None:
    result = runner.invoke(map_app, ["check", "--format", output, "broken.map", "warned.map"])
    assert result.exit_code == 1
    shown = result.stderr if output == "text" else result.stdout
    assert shown == _expected(f"both.{output}.expected")


def test_json_is_one_document_on_stdout_with_every_field(runner: CliRunner) -> None:
    result = runner.invoke(map_app, ["check", "--format", "json", "broken.map", "warned.map"])
    (error, warning) = json.loads(result.stdout)
    assert set(error) == {
        "file",
        "line",
        "col",
        "end_line",
        "end_col",
        "severity",
        "message",
        "hint",
    }
    assert (error["file"], error["line"], error["col"], error["severity"]) == (
        "broken.map",
        5,
        54,
        "error",
    )
    assert (warning["file"], warning["severity"]) == ("warned.map", "warning")


def test_json_of_clean_files_is_an_empty_list(runner: CliRunner) -> None:
    result = runner.invoke(map_app, ["check", "--format", "json", str(MAPPINGS)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_warnings_pass_without_strict_and_fail_with_it(runner: CliRunner) -> None:
    result = runner.invoke(map_app, ["check", "warned.map"])
    assert result.exit_code == 0
    assert result.stdout == "ok: 1 file(s) checked, 1 warning(s)\n"
    assert "warned.map:6:56: warning: `name` is required and has a default" in result.stderr
    strict = runner.invoke(map_app, ["check", "--strict", "warned.map"])
    assert strict.exit_code == 1
    assert strict.stderr.endswith("1 of 1 file(s) have errors (warnings count under --strict)\n")


def test_strict_passes_on_clean_files(runner: CliRunner) -> None:
    result = runner.invoke(map_app, ["check", "--strict", str(WARNINGS / "clean.map")])
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 1 file(s) checked\n"


def test_every_warning_rule_fails_strict(runner: CliRunner) -> None:
    for case in sorted(WARNINGS.glob("*.map")):
        result = runner.invoke(map_app, ["check", "--strict", "--format", "json", str(case)])
        found = json.loads(result.stdout)
        assert result.exit_code == (1 if found else 0), case
        assert case.stem == "clean" or found, case


def test_an_unknown_format_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(map_app, ["check", "--format", "xml", "warned.map"])
    assert result.exit_code == 2


def test_a_base_files_warning_is_shown_once_however_many_files_extend_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    base = (FORMATS / "warned.map").read_text(encoding="utf-8")
    (tmp_path / "base.map").write_text(base, encoding="utf-8")
    for name in ("a", "b"):
        (tmp_path / f"{name}.map").write_text(
            f'version 1\nmapping {name} extends "base.map"\n', encoding="utf-8"
        )
    result = runner.invoke(map_app, ["check", "--format", "json", str(tmp_path)])
    found = json.loads(result.stdout)
    assert [(Path(d["file"]).name, d["line"]) for d in found] == [("base.map", 6)]


def test_github_escapes_percent_newlines_and_property_separators() -> None:
    diagnostic = Diagnostic(
        "dir,a:b/100%.map", Span(3, 4, 3, 9), "50% off\r\nnext", "warning", "a, b: c"
    )
    assert github_annotation(diagnostic) == (
        "::warning file=dir%2Ca%3Ab/100%25.map,line=3,col=4,endLine=3,endColumn=9,"
        "title=siesa map check::50%25 off%0D%0Anext%0Ahint: a, b: c"
    )
