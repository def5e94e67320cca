"""Bundles: modules plus manifest.json, deterministic, written whole or not at all."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from compiler.bundle import BundleWriteError, compile_paths
from compiler.version import COMPILER_VERSION
from contract.loaded import load_mapping
from contract.manifest import read_manifest
from dsl.diagnostics import MapError

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
# The product mappings and the client override; other .map files may live beside them.
OURS = [MAPPINGS / "kong.map", MAPPINGS / "wms.map", MAPPINGS / "clients" / "cliente-e.map"]


@pytest.fixture
def mappings_copy(tmp_path: Path) -> Path:
    """A private copy of mappings/, free to break."""
    copy = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, copy)
    return copy


def test_a_bundle_holds_one_module_per_mapping_and_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    manifest = compile_paths(OURS, out, root=MAPPINGS)
    assert sorted(p.name for p in out.iterdir()) == [
        "cliente_e.py",
        "kong.py",
        "manifest.json",
        "wms.py",
    ]
    document = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert document["compiler_version"] == COMPILER_VERSION
    assert sorted(document["mappings"]) == ["cliente-e", "kong", "wms"]
    kong = document["mappings"]["kong"]
    assert kong == {
        "name": "kong",
        "product_type": "kong",
        "version": 1,
        "source": "kong.map",
        "source_sha256": hashlib.sha256((MAPPINGS / "kong.map").read_bytes()).hexdigest(),
        "bases": [],
        "module": "kong.py",
        "module_sha256": hashlib.sha256((out / "kong.py").read_bytes()).hexdigest(),
        "compiler_version": COMPILER_VERSION,
    }
    client = document["mappings"]["cliente-e"]
    assert client["source"] == "clients/cliente-e.map"
    assert client["product_type"] == "wms"
    wms_sha = hashlib.sha256((MAPPINGS / "wms.map").read_bytes()).hexdigest()
    assert client["bases"] == [{"source": "wms.map", "sha256": wms_sha}]
    assert [entry.name for entry in manifest.entries] == ["cliente-e", "kong", "wms"]


def test_the_manifest_has_sorted_keys_and_modules_import(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    compile_paths(OURS, out, root=MAPPINGS)
    text = (out / "manifest.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    entry = read_manifest(out).entry("wms", "manifest")
    wms = load_mapping((out / "wms.py").read_bytes(), entry, name="wms", origin="wms.py", where="")
    assert wms.declaration["source"] == "wms.map" and wms.sha256 == entry.module_sha256


def test_compiling_twice_gives_identical_bundles(tmp_path: Path) -> None:
    compile_paths([MAPPINGS], tmp_path / "one")
    compile_paths([MAPPINGS], tmp_path / "two")
    for path in (tmp_path / "one").iterdir():
        assert path.read_bytes() == (tmp_path / "two" / path.name).read_bytes()


def test_files_given_one_by_one_are_relative_to_their_common_parent(tmp_path: Path) -> None:
    manifest = compile_paths([MAPPINGS / "kong.map", MAPPINGS / "wms.map"], tmp_path / "b")
    assert [entry.source for entry in manifest.entries] == ["kong.map", "wms.map"]


def test_a_new_bundle_replaces_the_old_one(tmp_path: Path, mappings_copy: Path) -> None:
    out = tmp_path / "bundle"
    compile_paths([mappings_copy], out)
    assert (out / "cliente_e.py").is_file()
    (mappings_copy / "clients" / "cliente-e.map").unlink()
    manifest = compile_paths([mappings_copy], out)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json", *(entry.module for entry in manifest.entries)]
    )
    assert not (out / "cliente_e.py").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle-")]


def test_an_error_in_any_file_writes_nothing_and_keeps_the_old_bundle(
    tmp_path: Path, mappings_copy: Path
) -> None:
    out = tmp_path / "bundle"
    compile_paths([mappings_copy], out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    kong = mappings_copy / "kong.map"
    kong.write_text(
        kong.read_text(encoding="utf-8").replace("check >= 0", "check >= zero"), encoding="utf-8"
    )
    (mappings_copy / "broken.map").write_text(
        "version 1\nmapping broken for kong\nfield id strng required <- f_codigo\n",
        encoding="utf-8",
    )
    with pytest.raises(MapError) as raised:
        compile_paths([mappings_copy], out)
    paths = {d.path for d in raised.value.diagnostics}
    assert paths == {str(kong), str(mappings_copy / "broken.map")}
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "mappings"]


def test_two_mappings_with_one_module_name_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.map").write_text(
        "version 1\nmapping cliente-x for kong\nfield id string required <- f_codigo\n",
        encoding="utf-8",
    )
    (tmp_path / "b.map").write_text(
        "version 1\nmapping cliente_x for kong\nfield id string required <- f_codigo\n",
        encoding="utf-8",
    )
    with pytest.raises(MapError) as raised:
        compile_paths([tmp_path], tmp_path / "out")
    (diagnostic,) = raised.value.diagnostics
    assert "cliente_x.py" in diagnostic.message and diagnostic.span.line == 2
    assert not (tmp_path / "out").exists()


def test_a_directory_that_is_not_a_bundle_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(BundleWriteError, match="holds no bundle"):
        compile_paths([MAPPINGS], out)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
