"""Putting deploy artefacts in S3: the artefacts bucket, content-addressed keys, the mapping bundle.

Shared by `siesa deploy` and the local engine's provisioning. Keys of the
Lambda package and the state machine definition carry a prefix of their
SHA-256, so a changed file gets a new key (and the template a new parameter
value, which is what makes CloudFormation update the functions) and an
unchanged one is not uploaded again. The mapping bundle keeps fixed keys
under `mappings/`: the modules, then `signed-manifest.json`, the manifest
signed with the stack's KMS key (ops/deploy/signing.py), which the loader
reads; each object carries its SHA-256 as metadata, and an object already
holding the same bytes is left alone, so a deploy with nothing changed
writes nothing (ECDSA signatures differ each time, so the envelope is
rewritten only when the manifest changed).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import BundleContractError
from contract.manifest import MANIFEST_NAME, read_manifest
from contract.signature import SIGNED_MANIFEST_NAME
from ops.deploy.signing import ManifestSigner
from ops.errors import DeploymentError

SHA256_METADATA = "sha256"  # x-amz-meta-sha256
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_BUCKET_TAKEN = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})


@dataclass(frozen=True)
class Upload:
    """One object a deploy wanted in S3, and whether it had to write it."""

    bucket: str
    key: str
    sha256: str
    written: bool


def content_key(prefix: str, data: bytes, suffix: str) -> str:
    """`prefix` + the first 16 hex digits of the SHA-256 + `suffix`."""
    return f"{prefix}{hashlib.sha256(data).hexdigest()[:16]}{suffix}"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _stored_sha256(s3: Any, bucket: str, key: str) -> str | None:
    """The sha256 metadata of an object; None when there is no such object."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _error_code(exc) in _MISSING:
            return None
        raise
    stored = head.get("Metadata", {}).get(SHA256_METADATA)
    return str(stored) if stored else ""


def put_if_changed(s3: Any, bucket: str, key: str, data: bytes) -> Upload:
    """Write `data` at `key` unless the object there already records the same SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    if _stored_sha256(s3, bucket, key) == digest:
        return Upload(bucket, key, digest, written=False)
    s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata={SHA256_METADATA: digest})
    return Upload(bucket, key, digest, written=True)


def ensure_bucket(
    s3: Any, bucket: str, region: str, *, harden: bool = True, require_tls: bool = True
) -> bool:
    """Create `bucket` if this account lacks it; True when it was created.

    `harden` blocks public access, encrypts by default and versions a bucket
    it creates; `require_tls` adds a policy refusing plain-HTTP requests
    (what the template does for its own bucket), which only an endpoint
    reached over HTTPS can live with: the embedded AWS is plain HTTP and
    enforces bucket policies.
    """
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if _error_code(exc) not in _MISSING:
            raise DeploymentError(
                f"artefacts bucket {bucket} exists but cannot be used ({_error_code(exc)}); "
                "pick another with --artifacts-bucket"
            ) from None
    arguments: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**arguments)
    except ClientError as exc:
        if _error_code(exc) not in _BUCKET_TAKEN:
            raise
        if _error_code(exc) == "BucketAlreadyExists":
            raise DeploymentError(
                f"bucket name {bucket} is taken by another account; pick another with --artifacts-bucket"
            ) from None
        return False
    if harden:
        _harden(s3, bucket, require_tls)
    return True


def _harden(s3: Any, bucket: str, require_tls: bool) -> None:
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    if not require_tls:
        return
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def upload_content_addressed(s3: Any, bucket: str, prefix: str, data: bytes, suffix: str) -> Upload:
    """Upload under a key named by the content's hash (skipped when already there)."""
    return put_if_changed(s3, bucket, content_key(prefix, data, suffix), data)


def _checked_bundle_files(bundle: Path) -> list[Path]:
    """The bundle's modules, each matching the manifest's hash, then the manifest last."""
    manifest_path = bundle / MANIFEST_NAME
    try:
        manifest = read_manifest(bundle)
    except BundleContractError as exc:
        raise DeploymentError(f"cannot read the bundle's manifest {manifest_path}: {exc}") from None
    for name, entry in sorted(manifest.mappings.items()):
        module = bundle / entry.module
        expected = entry.module_sha256
        if not module.is_file():
            raise DeploymentError(f"mapping {name}: module {module} is missing from the bundle")
        if hashlib.sha256(module.read_bytes()).hexdigest() != expected:
            raise DeploymentError(
                f"mapping {name}: {module} does not hash to its manifest entry; rebuild the bundle"
            )
    files = sorted(path for path in bundle.rglob("*") if path.is_file())
    files.sort(key=lambda path: path == manifest_path)  # the manifest last
    return files


def upload_mapping_bundle(
    s3: Any, bucket: str, bundle: Path, prefix: str, signer: ManifestSigner
) -> list[Upload]:
    """Upload the bundle under `prefix`: modules first, the signed manifest last, unchanged objects skipped.

    A reader never sees a manifest naming a module that is not there yet. The
    manifest goes up only inside its signed envelope; it is signed again only
    when the envelope the bucket holds does not sign these bytes with this key.
    """
    *modules, manifest_path = _checked_bundle_files(bundle)
    uploads = [
        put_if_changed(s3, bucket, prefix + path.relative_to(bundle).as_posix(), path.read_bytes())
        for path in modules
    ]
    manifest = manifest_path.read_bytes()
    key = prefix + SIGNED_MANIFEST_NAME
    held = _stored_bytes(s3, bucket, key)
    if held is not None and signer.holds(held, manifest):
        uploads.append(Upload(bucket, key, hashlib.sha256(held).hexdigest(), written=False))
    else:
        uploads.append(put_if_changed(s3, bucket, key, signer.sign(manifest)))
    return uploads


def _stored_bytes(s3: Any, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None when there is none."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if _error_code(exc) in _MISSING:
            return None
        raise
    try:
        return bytes(body.read())
    finally:
        body.close()
