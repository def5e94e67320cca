"""The tests' own `.map` files (tests/runtime/maps/), compiled by the real compiler into a bundle.

A test that needs a mapping the repository's mappings/ does not hold (a
`skip when` on Kong, one product per warehouse line) writes it as a `.map`
file here, compiles it as `siesa map compile` would, and adds it to the
bundle already uploaded to S3, so the runtime loads it through its manifest
like any other mapping. A file here may extend the repository's product
files by their names (`extends "kong.map"`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto_platform import put_signed_manifest, signed_manifest_bytes

from compiler.pipeline import CompiledMapping, compile_source
from contract.manifest import Manifest
from contract.versions import CurrentVersion, current_key, version_of, version_prefix
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
    it reads any module). Where the bucket keeps bundle versions (a
    `current.json` under `prefix`), the result is a new version, holding the
    current one's modules and this one, made current as a deploy makes it.
    """
    current = _current_version(s3, bucket, prefix)
    source = prefix if current is None else version_prefix(prefix, current)
    manifest = Manifest.from_json(signed_manifest_bytes(s3, bucket, source), source)
    entry = compiled.manifest_entry()
    mappings = {**manifest.mappings, entry.name: entry}
    updated = Manifest(compiler_version=manifest.compiler_version, mappings=mappings)
    manifest_bytes = updated.to_json().encode("utf-8")
    target = source if current is None else version_prefix(prefix, version_of(manifest_bytes))
    if target != source:
        for kept in manifest.mappings.values():
            s3.copy_object(
                Bucket=bucket,
                Key=target + kept.module,
                CopySource={"Bucket": bucket, "Key": source + kept.module},
            )
    s3.put_object(Bucket=bucket, Key=target + entry.module, Body=compiled.code.encode("utf-8"))
    put_signed_manifest(s3, bucket, manifest_bytes, target)
    if current is not None:
        pointer = CurrentVersion(sha256=version_of(manifest_bytes), made_current_at=_now())
        s3.put_object(Bucket=bucket, Key=current_key(prefix), Body=pointer.to_json())
    return entry.name


def _current_version(s3: Any, bucket: str, prefix: str) -> str | None:
    """The current bundle version, or None where the bucket keeps the bundle unversioned."""
    try:
        body = s3.get_object(Bucket=bucket, Key=current_key(prefix))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return CurrentVersion.from_json(body, current_key(prefix)).sha256


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
