"""The bundle's signature: a signed manifest is verified with `kms:Verify` before anything is read.

Only the deploy role may sign with the stack's mapping-signing key (its key
policy, infra/template.yaml); the functions and operators may only verify.
So someone who can write to `mappings/` but cannot sign can change nothing
that runs: a replaced module needs a new hash in the manifest, and a changed
manifest no longer matches the signature.

Why `kms:Verify` and not the public key fetched once and checked here: the
Lambda zip would need an ECDSA implementation (`cryptography`, a native
wheel the runtime does not otherwise need), and our own code would decide
what a valid signature is. With `kms:Verify` KMS decides, every verification
is in CloudTrail, and disabling the key stops every run at once. The cost is
one KMS call per new manifest per container: what verified is remembered
by the envelope's bytes and the key, so a warm Lambda asks again only when
the bundle changes.

The key is the one the deployment names (`MAPPINGS_SIGNING_KEY_ARN`), never
the one the envelope names. Without a configured key every bundle is refused.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import BundleContractError
from contract.signature import SIGNING_ALGORITHM, SignedManifest
from runtime import aws, settings
from runtime.errors import BundleSignatureError

_lock = threading.Lock()
_verified: set[tuple[str, str]] = set()
"""(key, SHA-256 of the envelope's bytes) that verified in this container."""


def clear_cache() -> None:
    """Forget every verified envelope (tests)."""
    with _lock:
        _verified.clear()


class ManifestVerifier:
    """Verifies signed manifests against one KMS key with `kms:Verify`."""

    def __init__(self, key_id: str | None = None, *, kms: Any | None = None) -> None:
        self.key_id = settings.mappings_signing_key(key_id)
        self._kms = kms

    @property
    def kms(self) -> Any:
        """The KMS client (created on first use: a bundle that fails earlier costs none)."""
        if self._kms is None:
            self._kms = aws.client("kms")
        return self._kms

    def manifest(self, envelope_bytes: bytes, where: str) -> bytes:
        """The manifest bytes of a signed manifest whose signature verifies; BundleSignatureError otherwise."""
        if self.key_id is None:
            raise BundleSignatureError(
                f"no mapping-signing key is configured ({settings.MAPPINGS_SIGNING_KEY_ENV}): "
                f"{where} cannot be verified, so no mapping is loaded"
            )
        try:
            envelope = SignedManifest.from_json(envelope_bytes, where)
            digest = envelope.digest(where)
            signature = envelope.signature_bytes(where)
            manifest = envelope.manifest_bytes(where)
        except BundleContractError as exc:
            raise BundleSignatureError(f"{exc}: refused, nothing of the bundle is loaded") from None
        seen = (self.key_id, hashlib.sha256(envelope_bytes).hexdigest())
        with _lock:
            if seen in _verified:
                return manifest
        if not self._verifies(digest, signature, where):
            raise BundleSignatureError(
                f"{where}: the signature does not verify with the mapping-signing key; the "
                "bundle was changed by someone who may not sign it: refused, no module is loaded"
            )
        with _lock:
            _verified.add(seen)
        return manifest

    def _verifies(self, digest: bytes, signature: bytes, where: str) -> bool:
        try:
            answer = self.kms.verify(
                KeyId=self.key_id,
                Message=digest,
                MessageType="DIGEST",
                Signature=signature,
                SigningAlgorithm=SIGNING_ALGORITHM,
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "KMSInvalidSignatureException":  # what AWS answers for a bad signature
                return False
            raise BundleSignatureError(
                f"{where} could not be verified with the mapping-signing key ({code}): "
                "refused, no module is loaded"
            ) from None
        return answer.get("SignatureValid") is True
