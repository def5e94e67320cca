"""load_mapping: the hash before anything runs, the interface, and the entry against MAPPING."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compiler.pipeline import CompiledMapping, compile_file
from contract.errors import BundleContractError, BundleTamperedError
from contract.loaded import load_mapping, sha256_hex
from contract.manifest import ManifestEntry

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SIDE_EFFECT = "SIESA_TEST_CONTRACT_MODULE_RAN"


@pytest.fixture(scope="module")
def kong() -> CompiledMapping:
    return compile_file(MAPPINGS / "kong.map", root=MAPPINGS)


def _load(source: bytes, entry: ManifestEntry, name: str = "kong") -> object:
    return load_mapping(source, entry, name=name, origin="b/kong.py", where="b/manifest.json")


def _entry_for(source: bytes) -> ManifestEntry:
    """An entry for a hand-written `kong` module with these bytes."""
    return ManifestEntry(
        name="kong",
        product_type="kong",
        version=1,
        source="kong.map",
        source_sha256="0" * 64,
        bases=(),
        module="kong.py",
        module_sha256=sha256_hex(source),
        compiler_version="t",
    )


def test_a_compiled_mapping_loads_with_typed_accessors(kong: CompiledMapping) -> None:
    mapping = kong.load()
    assert mapping.sha256 == sha256_hex(kong.code.encode()) == kong.manifest_entry().module_sha256
    assert (mapping.name, mapping.product_type) == ("kong", "kong")
    assert mapping.declaration["source"] == "kong.map"
    assert {item["canonical"] for item in mapping.fields} >= {"id", "name", "stock_quantity"}
    assert mapping.line_map and set(mapping.line_map.values()) >= {16, 19, 26}
    canonical, issues = mapping.to_canonical(
        {"f_codigo": "P1", "f_codigo_externo": "E1", "f_nombre": "Camisa", "f_cantidad": "3"}
    )
    assert issues == [] and canonical is not None
    assert mapping.to_product(canonical)["product_id"] == "P1"


def test_a_wrong_hash_is_refused_before_the_module_runs(kong: CompiledMapping) -> None:
    tampered = f"import os\nos.environ[{SIDE_EFFECT!r}] = '1'\n{kong.code}".encode()
    with pytest.raises(
        BundleTamperedError,
        match=r"^mapping module b/kong\.py has SHA-256 .* refused, not imported$",
    ):
        _load(tampered, kong.manifest_entry())
    assert SIDE_EFFECT not in os.environ


def test_a_module_without_the_interface_is_refused() -> None:
    source = b"MAPPING = {}\ndef to_canonical(record):\n    return record, []\n"
    entry = _entry_for(source)
    with pytest.raises(
        BundleContractError, match=r"^mapping module b/kong\.py lacks map_record, to_product$"
    ):
        _load(source, entry)


def test_an_entry_that_names_another_mapping_is_refused(kong: CompiledMapping) -> None:
    source = kong.code.encode()
    with pytest.raises(
        BundleTamperedError, match=r"it is mapping 'kong'.*the manifest was changed"
    ):
        _load(source, kong.manifest_entry(), name="cliente-a")
    edited = kong.manifest_entry().model_copy(update={"product_type": "wms"})
    with pytest.raises(
        BundleTamperedError, match=r"its product_type is 'kong', the manifest says 'wms'"
    ):
        _load(source, edited)


def test_a_module_disagreeing_with_its_entry_never_runs(kong: CompiledMapping) -> None:
    """The agreement check reads MAPPING from the text: a planted module is refused before it runs."""
    planted = f"import os\nos.environ[{SIDE_EFFECT!r}] = '1'\n{kong.code}".encode()
    entry = kong.manifest_entry().model_copy(
        update={"module_sha256": sha256_hex(planted), "product_type": "wms"}
    )
    with pytest.raises(BundleTamperedError, match=r"its product_type is 'kong'"):
        _load(planted, entry)
    assert SIDE_EFFECT not in os.environ


def test_a_module_without_a_literal_mapping_never_runs() -> None:
    source = f"import os\nos.environ[{SIDE_EFFECT!r}] = '1'\nMAPPING = dict(name='kong')\n"
    data = source.encode()
    entry = _entry_for(data)
    with pytest.raises(BundleContractError, match=r"lacks MAPPING \(a literal dict\)$"):
        _load(data, entry)
    assert SIDE_EFFECT not in os.environ


def test_a_module_that_changes_its_mapping_while_loading_is_refused(kong: CompiledMapping) -> None:
    source = (kong.code + "\nMAPPING = {**MAPPING, 'product_type': 'wms'}\n").encode()
    entry = kong.manifest_entry().model_copy(update={"module_sha256": sha256_hex(source)})
    with pytest.raises(BundleTamperedError, match=r"changes its MAPPING while it loads"):
        _load(source, entry)
