"""`siesa map run`: exit codes (3 on rejects, `--allow-rejects`), `--input -`, no Python `None` shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.mapping import EXIT_REJECTS, map_app

KONG = Path(__file__).resolve().parents[2] / "mappings" / "kong.map"
GOOD = {"f_codigo": "P1", "f_codigo_externo": "E1", "f_nombre": "Camisa", "f_cantidad": 1}
NEGATIVE = {**GOOD, "f_codigo": "P2", "f_cantidad": -1}
NO_ID = {"f_codigo_externo": "E3", "f_nombre": "Camisa", "f_cantidad": 1}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _lines(*records: object) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def test_every_record_mapped_exits_0(runner: CliRunner, tmp_path: Path) -> None:
    records = tmp_path / "ok.jsonl"
    records.write_text(_lines(GOOD), encoding="utf-8")
    result = runner.invoke(map_app, ["run", str(KONG), "--input", str(records)])
    assert result.exit_code == 0, result.output
    assert result.stderr == "1 record(s) mapped, 0 rejected, 0 skipped\n"


def test_a_rejected_record_exits_3_unless_rejects_are_allowed(
    runner: CliRunner, tmp_path: Path
) -> None:
    records = tmp_path / "mixed.jsonl"
    records.write_text(_lines(GOOD, NEGATIVE), encoding="utf-8")
    result = runner.invoke(map_app, ["run", str(KONG), "--input", str(records)])
    assert result.exit_code == EXIT_REJECTS == 3
    assert len(result.stdout.splitlines()) == 1
    allowed = runner.invoke(map_app, ["run", str(KONG), "--input", str(records), "--allow-rejects"])
    assert allowed.exit_code == 0
    assert allowed.stdout == result.stdout


def test_input_dash_reads_standard_input(runner: CliRunner) -> None:
    text = _lines(GOOD, NEGATIVE) + "not json\n"
    result = runner.invoke(map_app, ["run", str(KONG), "--input", "-"], input=text)
    assert result.exit_code == 3
    (line,) = [json.loads(text) for text in result.stdout.splitlines()]
    assert line["product"]["product_id"] == "P1"
    assert "stdin:2: record 'P2' rejected: error: stock_quantity (line " in result.stderr
    assert "stdin:3: rejected: not valid JSON" in result.stderr
    assert result.stderr.endswith("1 record(s) mapped, 2 rejected, 0 skipped\n")


def test_non_ascii_on_standard_input_is_read_as_utf8(runner: CliRunner) -> None:
    record = {**GOOD, "f_nombre": "Camiseta ñandú"}
    result = runner.invoke(
        map_app, ["run", str(KONG), "--input", "-"], input=_lines(record).encode("utf-8")
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["product"]["name"] == "Camiseta ñandú"


def test_a_record_without_an_id_is_named_in_words_never_none(runner: CliRunner) -> None:
    result = runner.invoke(map_app, ["run", str(KONG), "--input", "-"], input=_lines(NO_ID))
    assert result.exit_code == 3
    assert "stdin:1: a record with no id rejected: error: id (line " in result.stderr
    assert "None" not in result.stderr


def test_a_json_value_that_is_not_an_object_never_shows_none(runner: CliRunner) -> None:
    result = runner.invoke(map_app, ["run", str(KONG), "--input", "-"], input="[1, 2]\n42\n")
    assert result.exit_code == 3
    assert "None" not in result.stderr
    assert "Traceback" not in result.output
    assert result.stderr.endswith("0 record(s) mapped, 2 rejected, 0 skipped\n")


EXACT_MAP = """version 2
mapping exact for kong
field id string required <- f_codigo -> product_id
field name string required <- f_nombre -> name
field stock_quantity int required <- f_cantidad -> quantity
field custom:precio decimal optional <- f_precio -> attributes.price as number
field custom:costo decimal optional <- f_costo -> attributes.cost
"""


def test_numbers_are_read_and_printed_with_every_digit(runner: CliRunner, tmp_path: Path) -> None:
    mapping = tmp_path / "exact.map"
    mapping.write_text(EXACT_MAP, encoding="utf-8")
    line = (
        '{"f_codigo": "P1", "f_nombre": "Camisa", "f_cantidad": 2, '
        '"f_precio": 12345678901234567890.125, "f_costo": 0.10}\n'
    )
    result = runner.invoke(map_app, ["run", str(mapping), "--input", "-"], input=line)
    assert result.exit_code == 0, result.output
    assert '"price":12345678901234567890.125' in result.stdout
    assert '"cost":"0.10"' in result.stdout
    assert '"custom:precio":"12345678901234567890.125"' in result.stdout


LINES_MAP = Path(__file__).parent / "golden_valid" / "each_array.map"
"""`skip when f_activo == "N"`, and one record per line of `f_bodegas`, id `{f_codigo}-{f_bodega}`."""
TWO_LINES = {
    "f_codigo": "P1",
    "f_activo": "S",
    "f_bodegas": [{"f_bodega": "01", "cantidad": 5}, {"f_bodega": "02", "cantidad": "7"}],
}


def test_a_skipped_record_is_counted_as_skipped_with_its_rule_and_exits_0(
    runner: CliRunner,
) -> None:
    inactive = {**TWO_LINES, "f_codigo": "P9", "f_activo": "N"}
    result = runner.invoke(map_app, ["run", str(LINES_MAP), "--input", "-"], input=_lines(inactive))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == (
        "stdin:1: record 'P9' skipped: skip when f_activo == \"N\"\n"
        "0 record(s) mapped, 0 rejected, 1 skipped\n"
    )


def test_a_one_to_many_record_prints_one_line_per_product_record(
    runner: CliRunner,
) -> None:
    result = runner.invoke(
        map_app, ["run", str(LINES_MAP), "--input", "-"], input=_lines(TWO_LINES)
    )
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["product"] for line in printed] == [
        {"sku": "P1-01", "warehouse": "01", "quantity": 5},
        {"sku": "P1-02", "warehouse": "02", "quantity": 7},
    ]
    assert [line["canonical"]["id"] for line in printed] == ["P1-01", "P1-02"]
    assert result.stderr == "2 record(s) mapped, 0 rejected, 0 skipped\n"


def test_a_rejected_line_is_named_by_its_own_id_and_exits_3(
    runner: CliRunner,
) -> None:
    record = {
        **TWO_LINES,
        "f_bodegas": [
            {"f_bodega": "01", "cantidad": -2},
            {"f_bodega": "02", "cantidad": 4},
            {"cantidad": 1},  # no warehouse: no id of its own, and two fields fail
        ],
    }
    inactive = {**TWO_LINES, "f_codigo": "P9", "f_activo": "N"}
    result = runner.invoke(
        map_app, ["run", str(LINES_MAP), "--input", "-"], input=_lines(record, inactive)
    )
    assert result.exit_code == EXIT_REJECTS
    (printed,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert printed["product"] == {"sku": "P1-02", "warehouse": "02", "quantity": 4}
    errors = result.stderr.splitlines()
    assert errors[0].startswith("stdin:1: record 'P1-01' rejected: error: stock_quantity (line ")
    assert errors[1].startswith("stdin:1: record 'P1#3' rejected: error: id (line ")
    assert "; error: custom:bodega (line " in errors[1]  # one line, counted once
    assert errors[2:] == [
        "stdin:2: record 'P9' skipped: skip when f_activo == \"N\"",
        "1 record(s) mapped, 2 rejected, 1 skipped",
    ]
    assert "None" not in result.stderr


def test_a_record_of_rejected_lines_names_each_line_and_one_of_no_lines_is_skipped(
    runner: CliRunner,
) -> None:
    every_line_bad = {
        **TWO_LINES,
        "f_bodegas": [{"f_bodega": "01", "cantidad": -1}, {"f_bodega": "02", "cantidad": -2}],
    }
    no_lines = {**TWO_LINES, "f_codigo": "P2", "f_bodegas": []}
    result = runner.invoke(
        map_app, ["run", str(LINES_MAP), "--input", "-"], input=_lines(every_line_bad, no_lines)
    )
    assert result.exit_code == EXIT_REJECTS
    assert result.stdout == ""
    errors = result.stderr.splitlines()
    assert [line.split(" rejected: ")[0] for line in errors[:2]] == [
        "stdin:1: record 'P1-01'",
        "stdin:1: record 'P1-02'",
    ]
    assert errors[2:] == [
        "stdin:2: a record with no id skipped: the mapping made no product record of it",
        "0 record(s) mapped, 2 rejected, 1 skipped",
    ]
