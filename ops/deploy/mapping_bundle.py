"""The compiled mapping bundle as a deploy artefact: a directory for S3 and a zip to keep.

`siesa deploy` uploads the directory to `s3://<config bucket>/mappings/`, where
the loader reads `manifest.json`; the zip is the same files in one
reproducible archive, to archive or hand over with the release.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contract.errors import BundleContractError
from contract.manifest import Manifest
from contract.manifest import read_manifest as read_contract_manifest
from ops.deploy.errors import BundleError
from ops.deploy.reprozip import Artefact, tree_entries, write_zip

BUNDLE_DIR_NAME = "mappings"
BUNDLE_ZIP_NAME = "siesa-mappings.zip"


@dataclass(frozen=True)
class MappingBundle:
    """A compiled bundle on disk: its directory, its zip and its manifest."""

    directory: Path
    artefact: Artefact
    manifest: Manifest

    @property
    def names(self) -> list[str]:
        """The mappings the bundle holds."""
        return sorted(self.manifest.mappings)


def read_manifest(directory: Path) -> Manifest:
    """A bundle directory's manifest; BundleError when it has none or it is not one."""
    try:
        return read_contract_manifest(directory)
    except BundleContractError as exc:
        raise BundleError(str(exc)) from None


def build_mapping_bundle(mappings_dir: Path, out_dir: Path) -> MappingBundle:
    """Compile every `.map` under `mappings_dir` into `out_dir/mappings/` and zip it."""
    if not mappings_dir.is_dir() or not any(mappings_dir.rglob("*.map")):
        raise BundleError(f"{mappings_dir} holds no .map files to compile")
    try:
        from compiler.bundle import BundleWriteError, compile_paths
        from dsl.diagnostics import MapError
    except ImportError as exc:
        raise BundleError(f"the mapping compiler is not installed here ({exc})") from exc
    directory = out_dir / BUNDLE_DIR_NAME
    try:
        compile_paths([mappings_dir], directory)
    except MapError as exc:
        raise BundleError(
            f"the mappings in {mappings_dir} do not compile:\n{exc.render()}"
        ) from exc
    except (BundleWriteError, OSError) as exc:
        raise BundleError(f"cannot write the mapping bundle to {directory}: {exc}") from exc
    artefact = write_zip(tree_entries(directory), out_dir / BUNDLE_ZIP_NAME)
    return MappingBundle(directory, artefact, read_manifest(directory))
