"""`siesa bundle`: both deploy artefacts and the record of what went into them.

`build_bundles(out_dir)` writes, under `out_dir`:

| file | what |
| --- | --- |
| `siesa-runtime-lambda.zip` | the Lambda package (ops/deploy/package.py) |
| `mappings/` | the compiled mapping bundle, as uploaded to `s3://<config bucket>/mappings/` |
| `siesa-mappings.zip` | the same bundle in one archive |
| `bundle.json` | the build record: target, each distribution and wheel hash, each artefact's size and SHA-256 |

The record holds no timestamps, so it is as reproducible as the zips.
`read_build(out_dir)` checks a built directory against its record before
`siesa deploy --package` uses it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import TEMPLATE_PATH
from mappings import MAPPINGS_DIR
from ops.deploy.errors import BundleError
from ops.deploy.mapping_bundle import (
    BUNDLE_DIR_NAME,
    BUNDLE_ZIP_NAME,
    MappingBundle,
    build_mapping_bundle,
    read_manifest,
)
from ops.deploy.package import PACKAGE_NAME, LambdaPackage, build_lambda_package
from ops.deploy.reprozip import Artefact, sha256_file
from ops.deploy.target import target_of_template

RECORD_NAME = "bundle.json"
DEFAULT_TEMPLATE = TEMPLATE_PATH
DEFAULT_MAPPINGS_DIR = MAPPINGS_DIR
DEFAULT_WHEEL_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "siesa-integration"
    / "wheels"
)
"""Where downloaded Lambda wheels are kept: the user's cache, the same from any directory."""


@dataclass(frozen=True)
class Build:
    """A built directory: the Lambda package, the mapping bundle, the record."""

    out_dir: Path
    package: Artefact
    mapping_zip: Artefact
    mapping_dir: Path
    record: dict[str, Any]

    @property
    def artefacts(self) -> list[Artefact]:
        """The files to report (path, size, SHA-256)."""
        return [self.package, self.mapping_zip]


def _load_template(path: Path) -> dict[str, Any]:
    from ops.deploy.infra import InfraError, load_template

    try:
        return load_template(path)
    except InfraError as exc:
        raise BundleError(str(exc)) from exc


def _record(package: LambdaPackage, bundle: MappingBundle) -> dict[str, Any]:
    target = package.target
    return {
        "lambda_package": {
            "file": package.artefact.path.name,
            "size": package.artefact.size,
            "sha256": package.artefact.sha256,
            "runtime": f"python{target.python[0]}.{target.python[1]}",
            "architecture": target.architecture,
            "platform": target.pip_platform,
            "bytecode": package.bytecode,
            "distributions": [
                {
                    "name": wheel.pin.name,
                    "version": wheel.pin.version,
                    "wheel": wheel.path.name,
                    "wheel_sha256": sha256_file(wheel.path),
                }
                for wheel in package.wheels
            ],
        },
        "mapping_bundle": {
            "directory": bundle.directory.name,
            "file": bundle.artefact.path.name,
            "size": bundle.artefact.size,
            "sha256": bundle.artefact.sha256,
            "mappings": bundle.names,
        },
    }


def build_bundles(
    out_dir: Path,
    *,
    mappings_dir: Path = DEFAULT_MAPPINGS_DIR,
    wheel_cache: Path = DEFAULT_WHEEL_CACHE,
    template_path: Path = DEFAULT_TEMPLATE,
    bytecode: bool = True,
) -> Build:
    """Build the Lambda package and the mapping bundle into `out_dir`, then write the record.

    The mappings compile first: a broken mapping stops the build before the
    slower package step, and leaves a previous build in `out_dir` as it was.
    """
    target = target_of_template(_load_template(template_path))
    bundle = build_mapping_bundle(mappings_dir, out_dir)
    package = build_lambda_package(out_dir, cache=wheel_cache, target=target, bytecode=bytecode)
    record = _record(package, bundle)
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    (out_dir / RECORD_NAME).write_text(text, encoding="utf-8")
    return Build(out_dir, package.artefact, bundle.artefact, bundle.directory, record)


def _checked(out_dir: Path, entry: Any, what: str) -> Artefact:
    """The artefact a record entry names, refused when missing or not the recorded bytes."""
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        raise BundleError(f"{out_dir / RECORD_NAME} does not describe the {what}")
    path = out_dir / entry["file"]
    if not path.is_file():
        raise BundleError(f"{path} is missing; run `siesa bundle --out {out_dir}` again")
    artefact = Artefact.of(path)
    if artefact.sha256 != entry.get("sha256"):
        raise BundleError(
            f"{path} is not the file `siesa bundle` recorded (SHA-256 {artefact.sha256[:12]}..., "
            f"recorded {str(entry.get('sha256'))[:12]}...); rebuild it"
        )
    return artefact


def read_build(out_dir: Path) -> Build:
    """A directory `siesa bundle` wrote, checked against its record; BundleError if it differs."""
    path = out_dir / RECORD_NAME
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(
            f"{out_dir} holds no {RECORD_NAME}: build it with `siesa bundle`"
        ) from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc
    if not isinstance(record, dict):
        raise BundleError(f"{path} is not a build record")
    package = _checked(out_dir, record.get("lambda_package"), "Lambda package")
    mapping_zip = _checked(out_dir, record.get("mapping_bundle"), "mapping bundle")
    mapping_dir = out_dir / BUNDLE_DIR_NAME
    manifest = read_manifest(mapping_dir)
    if sorted(manifest.mappings) != record["mapping_bundle"].get("mappings"):
        raise BundleError(f"{mapping_dir} does not hold the mappings {path} records; rebuild it")
    return Build(out_dir, package, mapping_zip, mapping_dir, record)


__all__ = [
    "BUNDLE_ZIP_NAME",
    "DEFAULT_MAPPINGS_DIR",
    "DEFAULT_TEMPLATE",
    "DEFAULT_WHEEL_CACHE",
    "PACKAGE_NAME",
    "RECORD_NAME",
    "Build",
    "build_bundles",
    "read_build",
]
