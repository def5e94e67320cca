"""`siesa map ...` through typer's CliRunner: exit codes, stdout and stderr, no tracebacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.mapping import map_app

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
BROKEN = "version 1\nmapping broken for kong\nfield id string required <- f_codigo | trimm\n"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(MAPPINGS, tmp_path / "mappings")
    return tmp_path


def test_check_clean_files_exits_0(runner: CliRunner) -> None:
    result = runner.invoke(
        map_app, ["check", str(MAPPINGS / "kong.map"), str(MAPPINGS / "clients")]
    )
    assert result.exit_code == 0, result.output
    assert "ok: 3 file(s) checked" in result.stdout


def test_check_prints_every_diagnostic_on_stderr_and_exits_1(
    runner: CliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.map"
    bad.write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(map_app, ["check", str(bad), str(MAPPINGS / "kong.map")])
    assert result.exit_code == 1
    assert f"{bad}:3:40: error: unknown step `trimm`" in result.stderr
    assert "hint: did you mean `trim`?" in result.stderr
    assert "1 of 2 file(s) have errors" in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_path_is_a_message_not_a_traceback(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(map_app, ["check", str(tmp_path / "nope.map")])
    assert result.exit_code == 1
    assert "No such file or directory" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_compile_writes_a_bundle(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "build" / "bundle"
    result = runner.invoke(map_app, ["compile", str(MAPPINGS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "module(s) and manifest.json" in result.stdout
    names = set(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["mappings"])
    assert {"kong", "wms", "cliente-e"} <= names


def test_compile_with_errors_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "broken.map").write_text(BROKEN, encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(map_app, ["compile", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 1
    assert "unknown step `trimm`" in result.stderr and "nothing was written" in result.stderr
    assert not out.exists()


def test_compile_refuses_to_replace_a_directory_that_is_not_a_bundle(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x", encoding="utf-8")
    result = runner.invoke(map_app, ["compile", str(MAPPINGS), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "refusing to replace" in result.stderr


def test_fmt_check_passes_on_the_product_mappings(runner: CliRunner) -> None:
    result = runner.invoke(map_app, ["fmt", "--check", str(MAPPINGS)])
    assert result.exit_code == 0, result.output


def test_fmt_check_names_files_that_would_change_and_fmt_fixes_them(
    runner: CliRunner, workdir: Path
) -> None:
    kong = workdir / "mappings" / "kong.map"
    original = kong.read_text(encoding="utf-8")
    kong.write_text(
        original.replace("field name string required", "field   name  string   required"),
        encoding="utf-8",
    )
    result = runner.invoke(map_app, ["fmt", "--check", str(workdir / "mappings")])
    assert result.exit_code == 1
    assert f"would reformat {kong}" in result.stderr
    result = runner.invoke(map_app, ["fmt", str(kong)])
    assert result.exit_code == 0
    assert kong.read_text(encoding="utf-8") == original
    assert runner.invoke(map_app, ["fmt", "--check", str(kong)]).exit_code == 0


def test_run_maps_json_lines_and_reports_rejects_on_stderr(
    runner: CliRunner, tmp_path: Path
) -> None:
    records = tmp_path / "records.jsonl"
    lines = [
        {
            "f_codigo": " P1 ",
            "f_codigo_externo": "E1",
            "f_nombre": "Camisa",
            "f_cantidad": "100.0",
            "f_color": "Azul",
        },
        {"f_codigo": "P2", "f_codigo_externo": "E2", "f_nombre": "Camisa", "f_cantidad": -1},
    ]
    records.write_text(
        "\n".join(json.dumps(line) for line in lines) + "\n\nnot json\n", encoding="utf-8"
    )
    result = runner.invoke(map_app, ["run", str(MAPPINGS / "kong.map"), "--input", str(records)])
    assert result.exit_code == 3, result.output
    (line,) = [json.loads(text) for text in result.stdout.splitlines()]
    assert line["canonical"]["id"] == "P1" and line["canonical"]["stock_quantity"] == 100
    assert line["product"] == {
        "product_id": "P1",
        "external_reference": "E1",
        "name": "Camisa",
        "barcode": None,
        "quantity": 100,
        "rfid_tag_id": None,
        "attributes": {"color": "Azul"},
    }
    assert f"{records}:2: record 'P2' rejected: error: stock_quantity (line " in result.stderr
    assert "must be >= 0 (value -1, action reject)" in result.stderr
    assert f"{records}:4: rejected: not valid JSON" in result.stderr
    assert "1 record(s) mapped, 2 rejected, 0 skipped" in result.stderr


def test_run_names_the_map_line_where_generated_code_raised(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import cli.mapping
    from compiler.pipeline import CompiledMapping, compile_file

    def compile_raising(path: Path, **options: object) -> CompiledMapping:
        """The real compiler, with the read of `f_nombre` (kong.map:19) made to divide by zero."""
        compiled = compile_file(path, **options)  # type: ignore[arg-type]
        code = compiled.code.replace("v = r = get('f_nombre')", "v = r = 1 // 0", 1)
        assert code != compiled.code and code.count("\n") == compiled.code.count("\n")
        return dataclasses.replace(compiled, code=code)

    monkeypatch.setattr(cli.mapping, "compile_file", compile_raising)
    monkeypatch.chdir(MAPPINGS.parent)
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps({"f_codigo": "P1", "f_nombre": "Camisa"}) + "\n", "utf-8")
    result = runner.invoke(map_app, ["run", "mappings/kong.map", "--input", str(records)])
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    assert (
        f"{records}:1: rejected: the mapping failed at mappings/kong.map:19: ZeroDivisionError: "
        in (result.stderr)
    )
    assert "Traceback" not in result.output
    assert "0 record(s) mapped, 1 rejected, 0 skipped" in result.stderr


def test_run_with_a_missing_input_is_a_message(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        map_app, ["run", str(MAPPINGS / "kong.map"), "--input", str(tmp_path / "none.jsonl")]
    )
    assert result.exit_code == 1
    assert "cannot read" in result.stderr


def test_test_runs_the_examples(runner: CliRunner) -> None:
    result = runner.invoke(map_app, ["test", str(MAPPINGS)])
    assert result.exit_code == 0, result.output
    assert "example(s) passed" in result.stdout


def test_test_exits_1_and_shows_the_failing_example(runner: CliRunner, workdir: Path) -> None:
    wms = workdir / "mappings" / "wms.map"
    wms.write_text(
        wms.read_text(encoding="utf-8").replace(
            '"location_code": "A0105", "zone_id": "ZONE-A"}',
            '"location_code": "A-01-05", "zone_id": "ZONE-A"}',
        ),
        encoding="utf-8",
    )
    result = runner.invoke(map_app, ["test", str(wms)])
    assert result.exit_code == 1
    assert (
        'example "the design document\'s WMS record" failed: the product record differs'
        in result.stderr
    )
    assert (
        '-  "location_code": "A-01-05"' in result.stderr
        and '+  "location_code": "A0105"' in result.stderr
    )


def test_fmt_upgrade_rewrites_version_1_to_2_and_the_file_still_compiles_the_same(
    runner: CliRunner, workdir: Path
) -> None:
    from compiler.pipeline import compile_file

    kong = workdir / "mappings" / "kong.map"
    original = kong.read_text(encoding="utf-8")
    before = compile_file(kong, root=kong.parent).load().module
    result = runner.invoke(map_app, ["fmt", "--upgrade", str(kong)])
    assert result.exit_code == 0
    upgraded = kong.read_text(encoding="utf-8")
    assert upgraded == original.replace("\nversion 1\n", "\nversion 2\n", 1)
    after = compile_file(kong, root=kong.parent).load().module
    record = {"f_codigo": " P1 ", "f_nombre": "Camisa", "f_cantidad": "3"}
    assert after.to_canonical(record) == before.to_canonical(record)
    assert runner.invoke(map_app, ["fmt", "--check", str(kong)]).exit_code == 0
