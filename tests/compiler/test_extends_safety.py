"""`extends` stays inside the mappings root, and only `.map` files are ever read or shown."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.mapping import map_app
from compiler import sources
from compiler.sources import ROOT_MARKER, common_root

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
BASE = "version 1\nmapping base for kong\nfield id string required <- f_codigo -> product_id\n"


def _child(target: str) -> str:
    return f'version 1\nmapping child extends "{target}"\n'


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/base.map and root/clients/, the layout of a mappings repository."""
    root = tmp_path / "root"
    (root / "clients").mkdir(parents=True)
    (root / "base.map").write_text(BASE, "utf-8")
    return root


def _check(runner: CliRunner, *paths: Path) -> tuple[int, str]:
    result = runner.invoke(map_app, ["check", *(str(path) for path in paths)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stderr


def _refusal(runner: CliRunner, child: Path, target: str) -> list[str]:
    child.write_text(_child(target), "utf-8")
    code, stderr = _check(runner, child)
    assert code == 1
    return stderr.splitlines()


def test_an_absolute_path_is_refused_and_the_file_is_not_shown(
    runner: CliRunner, tree: Path
) -> None:
    child = tree / "clients" / "c.map"
    lines = _refusal(runner, child, "/etc/passwd")
    assert lines[0] == (
        f"{child}:2:23: error: `extends` takes a path relative to this file, not an absolute path"
    )
    assert lines[2] == "      |                       ^^^^^^^^^^^^^"
    assert not any("root:" in line for line in lines)


def test_a_device_is_refused_unread(runner: CliRunner, tree: Path) -> None:
    lines = _refusal(runner, tree / "c.map", "/dev/zero")
    assert "not an absolute path" in lines[0]


def test_dot_dot_out_of_the_root_is_refused(runner: CliRunner, tree: Path) -> None:
    (tree.parent / "outside.map").write_text(BASE, "utf-8")
    child = tree / "c.map"
    lines = _refusal(runner, child, "../outside.map")
    assert lines[0] == (f"{child}:2:23: error: `extends` leads outside the mappings root `{tree}`")
    assert lines[2] == "      |                       ^^^^^^^^^^^^^^^^"


def test_a_symbolic_link_out_of_the_root_is_refused(runner: CliRunner, tree: Path) -> None:
    (tree / "zero.map").symlink_to("/dev/zero")
    lines = _refusal(runner, tree / "c.map", "zero.map")
    assert "`extends` leads outside the mappings root" in lines[0]


def test_a_file_that_is_not_map_is_refused(runner: CliRunner, tree: Path) -> None:
    (tree / "notes.txt").write_text("secret line\n", "utf-8")
    lines = _refusal(runner, tree / "c.map", "notes.txt")
    assert lines[0] == f"{tree / 'c.map'}:2:23: error: `extends` names a `.map` file"
    assert not any("secret line" in line for line in lines)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_or_directory_named_map_is_refused_unread(runner: CliRunner, tree: Path) -> None:
    os.mkfifo(tree / "pipe.map")
    (tree / "folder.map").mkdir()
    for target in ("pipe.map", "folder.map"):
        lines = _refusal(runner, tree / "c.map", target)
        assert lines[0] == (
            f"{tree / 'c.map'}:2:23: error: cannot read the base file"
            f" '{target}': it is not a regular file"
        )


def test_a_huge_base_is_refused_unread(
    runner: CliRunner, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_MAP_BYTES", 1024)
    (tree / "huge.map").write_text(BASE + "#" * 2000 + "\n", "utf-8")
    lines = _refusal(runner, tree / "c.map", "huge.map")
    assert lines[0].endswith("cannot read the base file 'huge.map': it is larger than 0 MiB")


def test_a_named_file_that_is_not_map_is_refused_unread(runner: CliRunner, tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", "utf-8")
    for path in (secret, Path("/dev/zero")):
        code, stderr = _check(runner, path)
        assert code == 1
        assert (
            stderr.splitlines()[0]
            == f"{path}:1:1: error: cannot read the file: it is not a .map file"
        )
        assert "root:x" not in stderr


def test_a_lone_file_s_root_is_its_directory_without_a_marker(
    runner: CliRunner, tree: Path
) -> None:
    child = tree / "clients" / "c.map"
    lines = _refusal(runner, child, "../base.map")
    assert lines[0].endswith(f"leads outside the mappings root `{tree / 'clients'}`")
    assert common_root([child]) == tree / "clients"


def test_the_nearest_marker_above_makes_the_root(runner: CliRunner, tree: Path) -> None:
    (tree / ROOT_MARKER).touch()
    child = tree / "clients" / "c.map"
    child.write_text(_child("../base.map"), "utf-8")
    assert _check(runner, child) == (0, "")
    assert _check(runner, tree / "clients") == (0, "")
    assert common_root([child]) == tree
    assert common_root([Path("mappings/clients/cliente-e.map")]) == Path("mappings")


def test_the_repository_s_client_files_check_on_their_own(runner: CliRunner) -> None:
    assert (MAPPINGS / ROOT_MARKER).is_file()
    for path in (MAPPINGS / "clients" / "cliente-e.map", MAPPINGS / "connekta" / "kong.map"):
        assert _check(runner, path) == (0, "")


def test_a_copied_mappings_folder_keeps_its_root(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copytree(MAPPINGS, tmp_path / "mappings")
    assert _check(runner, tmp_path / "mappings" / "clients" / "cliente-e.map") == (0, "")
