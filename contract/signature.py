"""`signed-manifest.json`: the bundle's manifest and the deploy's signature of it, in one object.

The deploy signs the SHA-256 of the exact `manifest.json` bytes the compiler
wrote with the KMS key the stack creates (ECDSA P-256, `ECDSA_SHA_256`, a
digest message) and uploads this envelope last, after the modules. One
object, so a reader never sees a new manifest with an old signature; the
runtime reads only this envelope (a loose `manifest.json` in the bucket is
not read). The envelope names the key that signed, but a reader verifies
with the key its own configuration names, never with the one the envelope
names: anyone can sign with a key of their own.

Kept here, beside the manifest, because the deploy (ops) writes it and the
runtime reads it; the KMS calls live on each side (ops/deploy/signing.py,
runtime/bundle_trust.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from contract.errors import BundleContractError

SIGNED_MANIFEST_NAME = "signed-manifest.json"
SIGNING_ALGORITHM: Literal["ECDSA_SHA_256"] = "ECDSA_SHA_256"
MAX_ENVELOPE_BYTES = 4 * 1024 * 1024
"""A manifest of hundreds of mappings is tens of KB; anything past this is refused unread."""


class SignedManifest(BaseModel):
    """The manifest bytes (base64), their signature (base64), the algorithm and the signer's key."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    algorithm: Literal["ECDSA_SHA_256"]
    key_id: str
    manifest: str
    signature: str

    @classmethod
    def of(cls, manifest: bytes, signature: bytes, key_id: str) -> SignedManifest:
        """The envelope of `manifest` signed by `key_id`."""
        return cls(
            algorithm=SIGNING_ALGORITHM,
            key_id=key_id,
            manifest=base64.b64encode(manifest).decode("ascii"),
            signature=base64.b64encode(signature).decode("ascii"),
        )

    def to_json(self) -> bytes:
        """The envelope's bytes: sorted keys, final newline (the same inputs give the same bytes)."""
        return (json.dumps(self.model_dump(), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> SignedManifest:
        """Read an envelope; BundleContractError in one line when it is not one."""
        if len(data) > MAX_ENVELOPE_BYTES:
            raise BundleContractError(f"{where} is larger than {MAX_ENVELOPE_BYTES} bytes")
        try:
            envelope = cls.model_validate_json(data)
        except ValidationError:
            raise BundleContractError(f"{where} is not a signed manifest") from None
        envelope.manifest_bytes(where)
        envelope.signature_bytes(where)
        return envelope

    def manifest_bytes(self, where: str) -> bytes:
        """The signed manifest's bytes."""
        return _decoded(self.manifest, f"{where}: manifest")

    def signature_bytes(self, where: str) -> bytes:
        """The signature's bytes (DER-encoded ECDSA, as KMS gives it)."""
        return _decoded(self.signature, f"{where}: signature")

    def digest(self, where: str) -> bytes:
        """What was signed: the SHA-256 of the manifest bytes."""
        return manifest_digest(self.manifest_bytes(where))


def manifest_digest(manifest: bytes) -> bytes:
    """The message KMS signs and verifies (`MessageType=DIGEST`): SHA-256 of the manifest bytes."""
    return hashlib.sha256(manifest).digest()


def _decoded(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise BundleContractError(f"{what} is not base64") from None
