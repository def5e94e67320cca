"""Signing the mapping bundle's manifest with the stack's KMS key: what only the deploy may do.

`siesa deploy` and the local engine sign the exact `manifest.json` bytes the
compiler wrote (`kms:Sign`, ECDSA P-256 over their SHA-256) and upload the
envelope (contract/signature.py) after the modules; the runtime verifies it
before it reads any module (runtime/bundle_trust.py). The key policy lets
only the deploy role sign (infra/template.yaml, `MappingsSigningKey`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import BundleContractError
from contract.signature import SIGNING_ALGORITHM, SignedManifest, manifest_digest
from ops.errors import DeploymentError


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class ManifestSigner:
    """Signs manifests with one KMS key, and tells whether an envelope it finds still holds."""

    kms: Any
    key_id: str

    def sign(self, manifest: bytes) -> bytes:
        """The signed envelope of `manifest`; DeploymentError when KMS refuses to sign."""
        try:
            answer = self.kms.sign(
                KeyId=self.key_id,
                Message=manifest_digest(manifest),
                MessageType="DIGEST",
                SigningAlgorithm=SIGNING_ALGORITHM,
            )
        except ClientError as exc:
            raise DeploymentError(
                f"KMS refused to sign the mapping bundle with {self.key_id} ({_code(exc)}); "
                "only the deploy role may sign (the key policy of MappingsSigningKey)"
            ) from None
        return SignedManifest.of(manifest, bytes(answer["Signature"]), self.key_id).to_json()

    def holds(self, envelope: bytes, manifest: bytes) -> bool:
        """Whether `envelope` signs exactly `manifest` with this key (then it need not be signed again)."""
        try:
            found = SignedManifest.from_json(envelope, "the stored signed manifest")
            if found.manifest_bytes("") != manifest:
                return False
            answer = self.kms.verify(
                KeyId=self.key_id,
                Message=manifest_digest(manifest),
                MessageType="DIGEST",
                Signature=found.signature_bytes(""),
                SigningAlgorithm=SIGNING_ALGORITHM,
            )
        except (BundleContractError, ClientError):
            return False
        return answer.get("SignatureValid") is True


SIGNING_KEY_RESOURCE = "MappingsSigningKey"
SIGNING_KEY_OUTPUT = "MappingsSigningKeyArn"
EMBEDDED_KEY_ALIAS = "alias/siesa-integration-mappings-signing-embedded"


def usable_signing_key(
    kms: Any, key_arn: str, template: Mapping[str, Any], *, embedded_aws: bool
) -> str:
    """The stack's signing key, or on the embedded AWS one made to the template's own spec.

    moto's CloudFormation (5.2.5) creates every `AWS::KMS::Key` as a symmetric
    key, whatever its `KeySpec` says (and keeps its policy in a form its own
    DescribeKey fails on); the embedded AWS therefore gets a key created
    through the KMS API from the template resource's `KeySpec` and `KeyUsage`,
    found again by an alias, so provisioning twice keeps one key. On AWS the
    stack's key is used, and one that cannot sign is a DeploymentError.
    """
    if not embedded_aws:
        usage = kms.describe_key(KeyId=key_arn)["KeyMetadata"].get("KeyUsage")
        if usage != "SIGN_VERIFY":
            raise DeploymentError(
                f"the stack's mapping-signing key {key_arn} cannot sign ({usage})"
            )
        return key_arn
    try:
        found = kms.describe_key(KeyId=EMBEDDED_KEY_ALIAS)["KeyMetadata"]
        return str(found["Arn"])
    except ClientError as exc:
        if _code(exc) != "NotFoundException":
            raise
    properties = template["Resources"][SIGNING_KEY_RESOURCE]["Properties"]
    created = kms.create_key(
        KeySpec=properties["KeySpec"],
        KeyUsage=properties["KeyUsage"],
        Description=str(properties.get("Description", "")),
    )["KeyMetadata"]
    kms.create_alias(AliasName=EMBEDDED_KEY_ALIAS, TargetKeyId=created["KeyId"])
    return str(created["Arn"])
