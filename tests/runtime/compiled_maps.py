"""The tests' own `.map` files (tests/runtime/maps/), compiled by the real compiler into a bundle.

A test that needs a mapping the repository's mappings/ does not hold (a
`skip when` on Kong, one product per warehouse line) writes it as a `.map`
file here, compiles it as `siesa map compile` would, and adds it to the
bundle already uploaded to S3, so the runtime loads it through its manifest
like any other mapping. A file here may extend the repository's product
files by their names (`extends "kong.map"`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moto_platform import put_signed_manifest, signed_manifest_bytes

from compiler.pipeline import CompiledMapping, compile_source
from contract.manifest import Manifest
from mappings import MAPPINGS_DIR

MAPS = Path(__file__).parent / "maps"


def compile_test_map(name: str) -> CompiledMapping:
    """maps/NAME.map, checked and generated; the product files of mappings/ are its possible bases."""
    bases = {path.name: path.read_text("utf-8") for path in sorted(MAPPINGS_DIR.glob("*.map"))}
    return compile_source((MAPS / f"{name}.map").read_text("utf-8"), f"{name}.map", files=bases)


def add_to_bundle(
    s3: Any, bucket: str, compiled: CompiledMapping, prefix: str = "mappings/"
) -> str:
    """Put a compiled mapping into the bundle under `prefix`; its name.

    The module goes first, then the manifest naming it, signed with the
    deployment's key as the deploy signs it (the runtime verifies it before
    it reads any module).
    """
    manifest = Manifest.from_json(signed_manifest_bytes(s3, bucket, prefix), prefix)
    entry = compiled.manifest_entry()
    s3.put_object(Bucket=bucket, Key=prefix + entry.module, Body=compiled.code.encode("utf-8"))
    mappings = {**manifest.mappings, entry.name: entry}
    updated = Manifest(compiler_version=manifest.compiler_version, mappings=mappings)
    put_signed_manifest(s3, bucket, updated.to_json().encode("utf-8"), prefix)
    return entry.name
