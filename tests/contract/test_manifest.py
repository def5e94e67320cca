"""manifest.json: the compiler's bytes read back unchanged, anything else refused in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compiler.bundle import compile_paths
from contract.errors import BundleContractError
from contract.manifest import MANIFEST_NAME, Manifest, read_manifest

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
WHERE = "s3://bucket/mappings/manifest.json"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Path]:
    """mappings/ compiled into a bundle: the manifest the compiler returned and the directory."""
    out = tmp_path_factory.mktemp("bundle") / "mappings"
    return compile_paths([MAPPINGS], out), out


def _document(written: tuple[Manifest, Path]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((written[1] / MANIFEST_NAME).read_text("utf-8"))
    return document


def test_what_the_compiler_writes_reads_back_to_the_same_model_and_bytes(
    written: tuple[Manifest, Path],
) -> None:
    manifest, out = written
    text = (out / MANIFEST_NAME).read_text(encoding="utf-8")
    read = Manifest.from_json(text, WHERE)
    assert read == manifest == read_manifest(out)
    assert read.to_json() == text
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    client = read.entry("cliente-e", WHERE)
    assert (client.module, client.product_type, client.source) == (
        "cliente_e.py",
        "wms",
        "clients/cliente-e.map",
    )
    assert [base.source for base in client.bases] == ["wms.map"]
    assert [entry.name for entry in read.entries] == sorted(read.mappings)


def _broken(document: dict[str, Any], path: tuple[str, ...], value: Any) -> str:
    """The document's JSON with the value at `path` replaced (`...` deletes it)."""
    changed = json.loads(json.dumps(document))
    holder = changed
    for key in path[:-1]:
        holder = holder[key]
    if value is ...:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    return json.dumps(changed)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("mappings", "kong", "module"), ..., r": mappings\.kong\.module: Field required$"),
        (("mappings", "kong", "file"), "kong.py", r"mappings\.kong\.file: is not a field the"),
        (("mappings", "kong", "sha256"), "0" * 64, r"mappings\.kong\.sha256: is not a field the"),
        (("mappings", "kong", "module"), "../kong.py", r"mappings\.kong\.module: names no valid"),
        (("mappings", "kong", "module"), "kong.txt", r"mappings\.kong\.module: names no valid"),
        (("mappings", "kong", "module_sha256"), "F" * 64, r"module_sha256: is no valid sha256"),
        (("mappings", "kong", "source_sha256"), "abc", r"kong\.source_sha256: is no valid sha256"),
        (("mappings", "kong", "version"), "1", r"mappings\.kong\.version: Input should be"),
        (("mappings", "kong", "version"), True, r"mappings\.kong\.version: Input should be"),
        (("mappings", "kong", "bases"), [{"source": "a.map"}], r"bases\.0\.sha256: Field required"),
        (("mappings",), [], r": mappings: Input should be an object$"),
        (("compiler_version",), ..., r": compiler_version: Field required$"),
        (("bundle_version",), 1, r": bundle_version: is not a field the compiler writes$"),
    ],
)
def test_every_other_shape_is_refused_in_one_line_naming_the_field(
    written: tuple[Manifest, Path], path: tuple[str, ...], value: Any, message: str
) -> None:
    with pytest.raises(BundleContractError, match=message) as refused:
        Manifest.from_json(_broken(_document(written), path, value), WHERE)
    assert str(refused.value).startswith(WHERE + ": ") and "\n" not in str(refused.value)


def test_several_problems_are_counted(written: tuple[Manifest, Path]) -> None:
    text = _broken(_document(written), ("mappings", "kong"), {"module": "kong.py"})
    with pytest.raises(BundleContractError, match=r"Field required \(and 7 more\)$"):
        Manifest.from_json(text, WHERE)


@pytest.mark.parametrize(
    ("text", "message"),
    [("{nope", "is not valid JSON"), ("[1]", "is not a JSON object"), ("", "is not valid JSON")],
)
def test_text_that_is_no_manifest_at_all(text: str, message: str) -> None:
    with pytest.raises(BundleContractError, match=f"^{WHERE} {message}$"):
        Manifest.from_json(text, WHERE)


def test_a_missing_mapping_names_what_the_manifest_holds(written: tuple[Manifest, Path]) -> None:
    with pytest.raises(BundleContractError, match=r"has no mapping 'nope'; it holds: cliente-e, "):
        written[0].entry("nope", WHERE)


def test_a_directory_without_a_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleContractError, match=r"holds no manifest\.json: not a mapping bundle"):
        read_manifest(tmp_path)
