"""`manifest.json`: what a bundle holds, written by the compiler and read by the runtime.

One model for both sides. The compiler builds a `Manifest` and writes
`to_json()` (sorted keys, two-space indent, final newline: the same sources
always give the same bytes); the runtime reads it back with `from_json`,
which accepts exactly that shape and refuses anything else (a missing or an
unknown field, a wrong type, a module path that leaves the bundle) with one
line naming the field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from contract.errors import BundleContractError

MANIFEST_NAME = "manifest.json"
MAPPING_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
MODULE_FILE_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.py$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


def _module_file(value: str) -> str:
    if not re.fullmatch(MODULE_FILE_PATTERN, value):
        raise ValueError("names no valid module file (a file name in the bundle, like kong.py)")
    return value


def _sha256(value: str) -> str:
    if not re.fullmatch(SHA256_PATTERN, value):
        raise ValueError("is no valid sha256 (64 lower-case hex digits)")
    return value


ModuleFile = Annotated[str, AfterValidator(_module_file)]
Sha256 = Annotated[str, AfterValidator(_sha256)]


class _Strict(BaseModel):
    """Frozen, no coercion, no unknown fields: the shape the compiler writes and nothing else."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class BaseFile(_Strict):
    """A `.map` file the mapping extends, and the hash of the text it was compiled from."""

    source: str
    sha256: Sha256


class ManifestEntry(_Strict):
    """One mapping of a bundle: its module file and hash, and what the module declares."""

    name: str
    product_type: str
    version: int
    source: str
    source_sha256: Sha256
    bases: tuple[BaseFile, ...]
    module: ModuleFile
    module_sha256: Sha256
    compiler_version: str


class Manifest(_Strict):
    """What a bundle holds: its mappings keyed by name."""

    compiler_version: str
    mappings: dict[str, ManifestEntry]

    @classmethod
    def of(cls, compiler_version: str, entries: tuple[ManifestEntry, ...]) -> Manifest:
        """A manifest listing `entries` (keyed by their names)."""
        return cls(compiler_version=compiler_version, mappings={e.name: e for e in entries})

    @property
    def entries(self) -> tuple[ManifestEntry, ...]:
        """The entries, by name."""
        return tuple(self.mappings[name] for name in sorted(self.mappings))

    def to_json(self) -> str:
        """The manifest file's text: sorted keys, two-space indent, final newline."""
        document = self.model_dump(mode="json")
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, data: bytes | str, where: str) -> Manifest:
        """Read a manifest; BundleContractError in one line when it is not what the compiler writes.

        `where` names the file in the message (a path or an s3:// URL).
        """
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise BundleContractError(_refusal(where, exc.errors())) from None

    def entry(self, name: str, where: str) -> ManifestEntry:
        """The entry for mapping `name`; BundleContractError naming what the bundle holds."""
        found = self.mappings.get(name)
        if found is None:
            known = ", ".join(sorted(self.mappings)) or "none"
            raise BundleContractError(f"{where} has no mapping {name!r}; it holds: {known}")
        return found


def _refusal(where: str, errors: list[ErrorDetails]) -> str:
    """One line for a failed validation: the first problem, and how many more there are.

    An unknown field comes first: it is what a manifest of another shape shows.
    """
    first = sorted(errors, key=lambda error: error["type"] != "extra_forbidden")[0]
    if first["type"] == "json_invalid":
        return f"{where} is not valid JSON"
    if not first["loc"]:
        return f"{where} is not a JSON object"
    field = ".".join(str(part) for part in first["loc"])
    error = first.get("ctx", {}).get("error")
    if first["type"] == "extra_forbidden":
        reason = "is not a field the compiler writes"
    elif first["type"] == "value_error" and error is not None:
        reason = str(error)
    else:
        reason = first["msg"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {field}: {reason}{more}"


def read_manifest(directory: Path) -> Manifest:
    """The manifest of a bundle directory; BundleContractError when it has none or it is not one."""
    path = directory / MANIFEST_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BundleContractError(
            f"{directory} holds no {MANIFEST_NAME}: not a mapping bundle"
        ) from None
    except OSError as exc:
        raise BundleContractError(f"cannot read {path}: {exc.strerror}") from None
    return Manifest.from_json(data, str(path))


def write_manifest(directory: Path, manifest: Manifest) -> Path:
    """Write `manifest.json` into `directory`; returns its path."""
    path = directory / MANIFEST_NAME
    path.write_text(manifest.to_json(), encoding="utf-8")
    return path
