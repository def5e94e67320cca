"""`--write`: the text reaches the file only when it parses, whole, with the file's permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from playground_support import MAPPING, post_source, request, serving, write_mapping

from playground.save import NOT_PARSED, SAVED, save_if_parses

ADDED = MAPPING + 'field custom:origin string optional = "siesa" -> attributes.origin\n'
BROKEN = MAPPING + "field custom:origin strin\n"


def test_text_that_parses_replaces_the_file_keeping_its_mode(tmp_path: Path) -> None:
    path = write_mapping(tmp_path)
    path.chmod(0o640)
    assert save_if_parses(path, ADDED, "mini.map") == SAVED
    assert path.read_text(encoding="utf-8") == ADDED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == [".mappings-root", "mini.map"], "no temporary file left"


def test_text_that_does_not_parse_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = write_mapping(tmp_path)
    before = path.stat().st_mtime_ns
    assert save_if_parses(path, BROKEN, "mini.map") == NOT_PARSED
    assert path.read_text(encoding="utf-8") == MAPPING
    assert path.stat().st_mtime_ns == before


def test_text_with_errors_that_parses_is_saved_like_an_editor_would(tmp_path: Path) -> None:
    path = write_mapping(tmp_path)
    unknown_type = MAPPING.replace("string required <- f_nombre", "text required <- f_nombre")
    assert save_if_parses(path, unknown_type, "mini.map") == SAVED
    assert path.read_text(encoding="utf-8") == unknown_type


def test_a_linked_file_is_written_where_the_link_points(tmp_path: Path) -> None:
    real = write_mapping(tmp_path)
    link = tmp_path / "link.map"
    link.symlink_to(real)
    assert save_if_parses(link, ADDED, "link.map") == SAVED
    assert link.is_symlink() and real.read_text(encoding="utf-8") == ADDED


def test_the_server_saves_only_under_write_and_says_so(tmp_path: Path) -> None:
    path = write_mapping(tmp_path)
    with serving(path, write=True) as server:
        broken = post_source(server.server_port, BROKEN)
        assert broken.body["saved"] == "not saved: does not parse"
        assert path.read_text(encoding="utf-8") == MAPPING
        added = post_source(server.server_port, ADDED)
        assert added.body["saved"] == "saved"
        assert path.read_text(encoding="utf-8") == ADDED
    (tmp_path / "other").mkdir()
    other = write_mapping(tmp_path / "other")
    with serving(other) as server:
        answer = post_source(server.server_port, ADDED)
        assert "saved" not in answer.body
        assert other.read_text(encoding="utf-8") == MAPPING


def test_reloading_the_page_follows_an_editor_that_saved_the_file(tmp_path: Path) -> None:
    path = write_mapping(tmp_path)
    with serving(path) as server:
        port = server.server_port
        post_source(port, BROKEN)
        assert _state(port)["source"] == BROKEN, "the typed text, the file being unchanged"
        path.write_text(ADDED, encoding="utf-8")
        assert _state(port)["source"] == ADDED, "the editor's text, once it saved the file"
        post_source(port, MAPPING)
        assert _state(port)["source"] == MAPPING


def _state(port: int) -> dict[str, object]:
    answer = request(port, "GET", "/api/state", headers={"Host": f"127.0.0.1:{port}"})
    assert answer.status == 200
    state: dict[str, object] = answer.body
    return state
