"""Odd input gives one clear line with a position, through `siesa map check` and `siesa map run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.mapping import map_app
from compiler.apply import MAX_RECORD_DEPTH

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
VALID = "version 1\nmapping edge for kong\nfield id string required <- f_codigo -> product_id\n"
CLEAN = VALID + 'example "one" {\n  in {"f_codigo": "P1"}\n  expect canonical {"id": "P1"}\n}\n'
"""VALID with an example of its one column, so that it checks without a warning too."""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _check(runner: CliRunner, path: Path) -> tuple[int, list[str]]:
    result = runner.invoke(map_app, ["check", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr.splitlines()


@pytest.mark.parametrize("content", ["", "\n\n   \n", "# only a comment\n"])
def test_a_file_without_statements_is_one_line(
    runner: CliRunner, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "empty.map"
    path.write_text(content, "utf-8")
    code, lines = _check(runner, path)
    assert code == 1
    assert lines[0] == (
        f"{path}:1:1: error: this file has no statements: a mapping starts with `version 1`"
    )
    assert sum("error:" in line for line in lines) == 1


def test_a_byte_order_mark_is_accepted(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bom.map"
    path.write_bytes(b"\xef\xbb\xbf" + CLEAN.encode("utf-8"))
    assert _check(runner, path) == (0, [])


def test_a_file_with_a_byte_order_mark_reports_what_the_same_file_without_does(
    runner: CliRunner, tmp_path: Path
) -> None:
    broken = VALID.replace("required", "requird")
    plain, marked = tmp_path / "plain.map", tmp_path / "marked.map"
    plain.write_text(broken, "utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + broken.encode("utf-8"))
    code, lines = _check(runner, marked)
    assert code == 1
    assert [line.replace("marked", "plain") for line in lines] == _check(runner, plain)[1]


def test_bytes_that_are_not_utf8_get_a_caret_at_the_first_bad_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.map"
    path.write_bytes(VALID.encode("utf-8") + "# categoría: año\n".encode("latin-1"))
    code, lines = _check(runner, path)
    assert code == 1
    assert lines[:4] == [
        f"{path}:4:10: error: this file is not UTF-8 text: byte 0xED is not valid here"
        " (invalid continuation byte)",
        "    4 | # categor\ufffda: a\ufffdo",
        "      |          ^",
        "  hint: save the file with UTF-8 encoding",
    ]


def test_the_column_of_a_bad_byte_counts_characters_not_bytes(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "x.map"
    path.write_bytes(VALID.encode("utf-8") + "# ñandú ".encode() + b"\xff\n")
    code, lines = _check(runner, path)
    assert code == 1
    assert lines[0].startswith(f"{path}:4:9: error: this file is not UTF-8 text: byte 0xFF")
    assert lines[2] == "      |         ^"


def test_a_deeply_nested_record_is_one_line_in_run(runner: CliRunner, tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    good = {"f_codigo": "P1", "f_codigo_externo": "E1", "f_cantidad": 1}
    good |= {"f_nombre": "[" * 150, "f_color": "{" * 150}  # brackets in strings do not count
    deep = {
        "f_codigo": "P2",
        "f_nombre": json.loads("[" * MAX_RECORD_DEPTH + "]" * MAX_RECORD_DEPTH),
    }
    lines = [json.dumps(good), "[" * 100_000, json.dumps(deep)[:-1] + ', "x": [[]]}']
    records.write_text("\n".join(lines) + "\n", "utf-8")
    result = runner.invoke(map_app, ["run", str(MAPPINGS / "kong.map"), "--input", str(records)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    stderr = result.stderr.splitlines()
    assert f"{records}:2: rejected: the record is nested more than 200 levels deep" in stderr
    assert f"{records}:3: rejected: the record is nested more than 200 levels deep" in stderr
    assert not any(line.startswith(f"{records}:1:") for line in stderr)
    assert json.loads(result.stdout)["canonical"]["id"] == "P1"


def test_a_record_exactly_at_the_depth_limit_is_read(runner: CliRunner, tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    nested = "[" * (MAX_RECORD_DEPTH - 1) + "]" * (MAX_RECORD_DEPTH - 1)
    records.write_text('{"f_codigo": "P1", "x": ' + nested + "}\n", "utf-8")
    result = runner.invoke(map_app, ["run", str(MAPPINGS / "kong.map"), "--input", str(records)])
    assert "nested more than" not in result.stderr
    assert f"{records}:1: record 'P1' rejected" in result.stderr
