"""Mapping bundle versions: where each one lives in the config bucket, and the current-version pointer.

Every bundle the deploy uploads is kept under its version, the SHA-256 of the
exact `manifest.json` bytes the compiler wrote (which is what the deploy
signs, and the manifest names every module's SHA-256, so it is the hash of
the bundle's whole content):

    mappings/versions/{sha256}/signed-manifest.json   the signed envelope
    mappings/versions/{sha256}/{mapping}.py           its modules
    mappings/current.json                             {"sha256": ..., "made_current_at": ...}

The pointer is not signed: it only chooses among signed versions, and only the
deploy role may write under `mappings/` (the bucket policy, infra/template.yaml).
A reader checks that the signed manifest it verified hashes to the version it
asked for, so a version's files cannot be passed off under another version.

Kept here because the deploy and the operator commands (ops) write these keys
and the runtime reads them.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict, ValidationError

from contract.errors import BundleContractError
from contract.manifest import SHA256_PATTERN

VERSIONS_DIR = "versions/"
CURRENT_NAME = "current.json"
SHORT_LENGTH = 12
"""Hex digits of a version shown in tables (`siesa status`, `siesa map history`)."""


def version_of(manifest: bytes) -> str:
    """A bundle's version: the SHA-256 (hex) of its manifest's bytes."""
    return hashlib.sha256(manifest).hexdigest()


def short(version: str | None) -> str:
    """The first SHORT_LENGTH digits of a version ("-" when there is none)."""
    return version[:SHORT_LENGTH] if version else "-"


def is_version(text: str) -> bool:
    """Whether `text` is a full version (64 lower-case hex digits)."""
    return re.fullmatch(SHA256_PATTERN, text) is not None


def version_prefix(prefix: str, version: str) -> str:
    """Where a version's files are: `mappings/versions/{sha256}/`."""
    if not is_version(version):
        raise BundleContractError(f"{version[:80]!r} is no bundle version (a full SHA-256)")
    return f"{prefix}{VERSIONS_DIR}{version}/"


def current_key(prefix: str) -> str:
    """The pointer's key: `mappings/current.json`."""
    return prefix + CURRENT_NAME


class CurrentVersion(BaseModel):
    """`current.json`: the version unpinned clients use, and since when."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    sha256: str
    made_current_at: str

    def to_json(self) -> bytes:
        """The pointer's bytes: fields in their fixed order, final newline."""
        return (self.model_dump_json(indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> CurrentVersion:
        """Read a pointer; BundleContractError in one line when it is not one."""
        try:
            pointer = cls.model_validate_json(data)
        except ValidationError:
            raise BundleContractError(f"{where} is not a current-version pointer") from None
        if not is_version(pointer.sha256):
            raise BundleContractError(f"{where}: sha256 is no bundle version")
        return pointer
