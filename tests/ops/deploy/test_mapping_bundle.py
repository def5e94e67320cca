"""The mapping bundle artefact, the reproducible zip writer, and reading a build back."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from ops.deploy.build import DEFAULT_MAPPINGS_DIR, Build, read_build
from ops.deploy.errors import BundleError
from ops.deploy.mapping_bundle import build_mapping_bundle
from ops.deploy.reprozip import Entry, write_zip


def test_the_bundle_holds_the_manifest_and_every_repository_mapping(built: Build) -> None:
    manifest = json.loads((built.mapping_dir / "manifest.json").read_text())
    sources = {
        path.relative_to(DEFAULT_MAPPINGS_DIR).as_posix()
        for path in DEFAULT_MAPPINGS_DIR.rglob("*.map")
    }
    assert {entry["source"] for entry in manifest["mappings"].values()} == sources
    assert {"kong", "wms"} <= set(manifest["mappings"])
    for entry in manifest["mappings"].values():
        module = built.mapping_dir / entry["module"]
        assert hashlib.sha256(module.read_bytes()).hexdigest() == entry["module_sha256"]


def test_the_bundle_zip_holds_the_same_files(built: Build) -> None:
    with zipfile.ZipFile(built.mapping_zip.path) as archive:
        zipped = {name: archive.read(name) for name in archive.namelist()}
    on_disk = {path.name: path.read_bytes() for path in built.mapping_dir.iterdir()}
    assert zipped == on_disk
    assert "manifest.json" in zipped


def test_a_broken_mapping_stops_the_build_and_names_the_line(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(DEFAULT_MAPPINGS_DIR, mappings)
    kong = mappings / "kong.map"
    kong.write_text(kong.read_text() + "\nthis is not a rule\n")
    with pytest.raises(BundleError) as failure:
        build_mapping_bundle(mappings, tmp_path / "out")
    message = str(failure.value)
    assert "do not compile" in message and "kong.map:" in message
    assert not (tmp_path / "out" / "siesa-mappings.zip").exists()


def test_a_directory_without_mappings_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"holds no \.map files"):
        build_mapping_bundle(tmp_path, tmp_path / "out")


def test_the_zip_writer_refuses_two_files_at_one_path(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"two files want the archive path a\.py"):
        write_zip(
            [Entry("a.py", b"1"), Entry("b.py", b"2"), Entry("a.py", b"3")], tmp_path / "x.zip"
        )
    assert not list(tmp_path.iterdir())


def test_the_zip_writer_ignores_the_order_it_is_given(tmp_path: Path) -> None:
    entries = [Entry("b/c.py", b"c"), Entry("a.py", b"a", executable=True)]
    first = write_zip(entries, tmp_path / "1.zip")
    second = write_zip(list(reversed(entries)), tmp_path / "2.zip")
    assert first.sha256 == second.sha256
    with zipfile.ZipFile(first.path) as archive:
        assert [
            (info.filename, info.external_attr >> 16 & 0o777) for info in archive.infolist()
        ] == [
            ("a.py", 0o755),
            ("b/c.py", 0o644),
        ]


def test_a_build_is_read_back_and_checked(built: Build, tmp_path: Path) -> None:
    copy = tmp_path / "dist"
    shutil.copytree(built.out_dir, copy)
    again = read_build(copy)
    assert again.package.sha256 == built.package.sha256
    with (copy / built.package.path.name).open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(BundleError, match="is not the file `siesa bundle` recorded"):
        read_build(copy)


def test_a_directory_without_a_record_is_not_a_build(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"holds no bundle\.json"):
        read_build(tmp_path)
