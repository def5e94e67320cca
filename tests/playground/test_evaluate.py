"""One keystroke's work shows what the CLI prints for the same text, made by the same code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playground_support import MAPPING, workspace, write_mapping
from typer.testing import CliRunner

from cli.mapping import map_app
from compiler.apply import Input
from playground.evaluate import MAX_SOURCE_BYTES, evaluate
from playground.samples import MAX_RECORDS, Samples, from_examples, from_json_lines

SKIPPING = (
    MAPPING.replace(
        "every string", 'column f_activo string\nskip when f_activo == "N"\n\nevery string'
    )
    + "field custom:color string optional <- f_color -> attributes.color on invalid warn check length 1..5\n"
)
MISTAKES = MAPPING.replace("int required <- f_cantidad", "integer required <- f_cantidad").replace(
    "-> name\n", "-> name check >= 0\n"
)


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(map_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_diagnostics_are_what_map_check_prints(tmp_path: Path) -> None:
    path = write_mapping(tmp_path, MISTAKES)
    shown = evaluate(MISTAKES, workspace(path), from_examples(str(path)))
    assert shown["compiled"] is False
    code, _, stderr = _cli("check", str(path))
    assert code == 1
    assert stderr == shown["diagnostics"] + "\n\n1 of 1 file(s) have errors\n"
    assert (
        f"{path}:8:54: error: `check >=` does not apply to a string field" in shown["diagnostics"]
    )
    assert f"{path}:9:22: error: unknown type `integer`" in shown["diagnostics"]
    assert "\n    9 | field stock_quantity integer required" in shown["diagnostics"]
    assert "\n      |                      ^^^^^^^" in shown["diagnostics"]


def test_the_typed_text_is_checked_not_the_file_on_disk(tmp_path: Path) -> None:
    path = write_mapping(tmp_path, MAPPING)
    shown = evaluate(MISTAKES, workspace(path), from_examples(str(path)))
    assert shown["compiled"] is False
    clean = evaluate(MAPPING, workspace(write_mapping(tmp_path, MISTAKES)), from_examples("x"))
    assert clean["compiled"] is True and clean["diagnostics"] == ""
    assert path.read_text(encoding="utf-8") == MISTAKES


def test_examples_and_records_are_what_map_test_and_map_run_print(tmp_path: Path) -> None:
    path = write_mapping(tmp_path, SKIPPING)
    records = tmp_path / "records.jsonl"
    lines = [
        {"f_codigo": "A1", "f_codigo_externo": "E1", "f_nombre": "Camisa", "f_cantidad": 3},
        {"f_codigo": "A2", "f_codigo_externo": "E2", "f_nombre": "Falda", "f_cantidad": -3},
        {
            "f_codigo": "A3",
            "f_codigo_externo": "E3",
            "f_nombre": "Saco",
            "f_cantidad": 1,
            "f_activo": "N",
        },
        {
            "f_codigo": "A4",
            "f_codigo_externo": "E4",
            "f_nombre": "Gorra",
            "f_cantidad": 1,
            "f_color": "amarillo",
        },
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines) + "{not json\n"
    records.write_text(text, encoding="utf-8")
    shown = evaluate(SKIPPING, workspace(path), from_json_lines(records))
    code, stdout, stderr = _cli("run", str(path), "--input", str(records))
    assert code == 3
    *notes, summary = stderr.splitlines()
    assert summary == shown["summary"] == "2 record(s) mapped, 2 rejected, 1 skipped"
    assert sorted(notes) == sorted(shown["rejected"] + shown["skipped"] + shown["warnings"])
    assert shown["skipped"] == [f"{records}:3: record 'A3' skipped: skip when f_activo == \"N\""]
    assert shown["rejected"][1] == f"{records}:5: rejected: not valid JSON: " + (
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    )
    printed = [json.loads(line) for line in stdout.splitlines()]
    assert [json.loads(output["product"]) for output in shown["outputs"]] == [
        line["product"] for line in printed
    ]
    assert [output["id"] for output in shown["outputs"]] == ["A1", "A4"]
    code, stdout, stderr = _cli("test", str(path))
    assert code == 0 and stdout.splitlines()[0] == shown["examples"]
    assert shown["diagnostics"] == _cli("check", str(path))[2].rsplit("\n\n", 1)[0]
    assert (
        "warning: source column `f_color` appears in no example's `in` record"
        in shown["diagnostics"]
    )


def test_a_file_that_extends_another_reads_its_base_from_disk(tmp_path: Path) -> None:
    write_mapping(tmp_path, MAPPING, "base.map")
    child = 'version 2\nmapping child extends "base.map"\n\noverride name <- f_nombre_corto\n'
    path = write_mapping(tmp_path, 'version 2\nmapping child extends "base.map"\n', "child.map")
    record = {
        "f_codigo": "C1",
        "f_codigo_externo": "E",
        "f_nombre": "x",
        "f_nombre_corto": "Corto",
        "f_cantidad": 1,
    }
    samples = Samples("one record", (Input("typed:1", record),))
    shown = evaluate(child, workspace(path), samples)
    assert shown["compiled"] is True, shown["diagnostics"]
    assert json.loads(shown["outputs"][0]["product"])["name"] == "Corto"


def test_the_records_stop_when_the_time_budget_runs_out(tmp_path: Path) -> None:
    path = write_mapping(tmp_path)
    record = {"f_codigo": "P", "f_codigo_externo": "E", "f_nombre": "n", "f_cantidad": 1}
    samples = Samples("many", tuple(Input(f"r:{n}", dict(record)) for n in range(10)))
    ticks = iter(range(100))
    shown = evaluate(MAPPING, workspace(path), samples, budget=3, clock=lambda: next(ticks))
    assert len(shown["outputs"]) == 3
    assert (
        shown["stopped"] == "stopped after 3 of 10 record(s): the 3 s a keystroke may take ran out"
    )


def test_text_too_large_is_refused_unchecked(tmp_path: Path) -> None:
    path = write_mapping(tmp_path)
    huge = MAPPING + "#" * MAX_SOURCE_BYTES
    shown = evaluate(huge, workspace(path), from_examples(str(path)))
    assert shown == {
        "compiled": False,
        "diagnostics": f"{path}: error: the text is larger than 1024 KiB",
    }


def test_a_records_file_is_read_up_to_its_limit(tmp_path: Path) -> None:
    records = tmp_path / "many.jsonl"
    records.write_text('{"f_codigo": "P"}\n' * (MAX_RECORDS + 5), encoding="utf-8")
    samples = from_json_lines(records)
    assert samples.fixed is not None and len(samples.fixed) == MAX_RECORDS
    assert samples.description == (
        f"{records}: the first {MAX_RECORDS} record(s); the rest are not mapped here"
    )


@pytest.mark.parametrize("name", ["playground/static/starter.map"])
def test_the_draft_served_without_a_file_checks_clean_and_passes(name: str) -> None:
    code, stdout, stderr = _cli("check", "--strict", name)
    assert code == 0, stderr
    code, stdout, stderr = _cli("test", name)
    assert code == 0 and "2 of 2 example(s) passed" in stdout
