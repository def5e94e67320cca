"""Putting deploy artefacts in S3: buckets the caller's account must own, content-addressed keys,
the mapping bundle.

Shared by `siesa deploy` and the local engine's provisioning. Every call on
a bucket the deploy writes to (the artefacts bucket, the stack's config
bucket) goes through an `OwnedBucket`, which names the caller's account as
`ExpectedBucketOwner`: S3 refuses the call with 403 when another account owns
the bucket (a predictable name taken first), and the deploy stops with
`ForeignBucket` before it uploads anything there.

Keys of the Lambda package and the state machine definition carry a prefix
of their SHA-256, so a changed file gets a new key (and the template a new
parameter value, which is what makes CloudFormation update the functions)
and an unchanged one is not uploaded again. The mapping bundle is kept as a
version under `mappings/versions/{sha256 of its manifest}/` (contract/versions.py):
the modules, then `signed-manifest.json`, the manifest signed with the
stack's KMS key (ops/deploy/signing.py), which the runtime reads; then, by
default, `mappings/current.json` is pointed at it. Every earlier version stays
where it is, so `siesa map promote` can make it current again. Whether an object already holds the bytes is decided by the
checksum S3 itself computed and checked when the object was written
(`ChecksumSHA256`, asked for with `ChecksumMode=ENABLED`), never by metadata,
which whoever wrote the object chooses. A deploy with nothing changed writes
nothing (ECDSA signatures differ each time, so the envelope is rewritten
only when the manifest changed).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import BundleContractError
from contract.manifest import MANIFEST_NAME, read_manifest
from contract.signature import SIGNED_MANIFEST_NAME
from contract.versions import CurrentVersion, current_key, version_of, version_prefix
from ops.deploy.errors import ForeignBucket
from ops.deploy.signing import ManifestSigner
from ops.deployment import describe_client_error
from ops.errors import DeploymentError

CHECKSUM_ALGORITHM = "SHA256"
_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
_REFUSED = frozenset({"403", "AccessDenied", "Forbidden"})


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


def s3_checksum(data: bytes) -> str:
    """What S3 reports as `ChecksumSHA256` for a single-part object: base64 of the raw digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class OwnedBucket:
    """A bucket and the account that must own it: every call names that account to S3."""

    s3: Any
    name: str
    owner: str  # the 12-digit account id of the caller

    def call(self, operation: str, **arguments: Any) -> Any:
        """`s3.<operation>(Bucket=..., ExpectedBucketOwner=..., **arguments)`; ForeignBucket on 403."""
        method = getattr(self.s3, operation)
        try:
            return method(Bucket=self.name, ExpectedBucketOwner=self.owner, **arguments)
        except ClientError as exc:
            if _error_code(exc) in _REFUSED:
                raise ForeignBucket(
                    f"bucket {self.name} refused {operation} for account {self.owner} "
                    f"({describe_client_error(exc)}): another account owns it, or this caller "
                    "may not use it; nothing was uploaded there"
                ) from None
            raise

    def checksum(self, key: str) -> str | None:
        """The object's `ChecksumSHA256` as S3 computed it; None when there is no object
        ("" when it has none, e.g. written without a checksum or in parts)."""
        try:
            head = self.call("head_object", Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise
        return str(head.get("ChecksumSHA256") or "")

    def put(self, key: str, data: bytes) -> None:
        """Write `data`, S3 checking it against our SHA-256 (and keeping that checksum)."""
        self.call(
            "put_object",
            Key=key,
            Body=data,
            ChecksumAlgorithm=CHECKSUM_ALGORITHM,
            ChecksumSHA256=s3_checksum(data),
        )

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        try:
            body = self.call("get_object", Key=key)["Body"]
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise
        try:
            return bytes(body.read())
        finally:
            body.close()


def put_if_changed(bucket: OwnedBucket, key: str, data: bytes) -> Upload:
    """Write `data` at `key` unless S3's own SHA-256 checksum of the object there equals ours."""
    digest = hashlib.sha256(data).hexdigest()
    if bucket.checksum(key) == s3_checksum(data):
        return Upload(bucket.name, key, digest, written=False)
    bucket.put(key, data)
    return Upload(bucket.name, key, digest, written=True)


def ensure_bucket(
    bucket: OwnedBucket, region: str, *, harden: bool = True, require_tls: bool = True
) -> bool:
    """Create `bucket` if no account has it; True when it was created.

    A bucket of that name owned by another account is a ForeignBucket (S3
    answers the owner check with 403, or the create with
    BucketAlreadyExists). `harden` blocks public access, encrypts by default
    and versions a bucket it creates; `require_tls` adds a policy refusing
    plain-HTTP requests (what the template does for its own bucket), which
    only an endpoint reached over HTTPS can live with: the embedded AWS is
    plain HTTP and enforces bucket policies.
    """
    try:
        bucket.call("head_bucket")
        return False
    except ClientError as exc:
        if _error_code(exc) not in _MISSING:
            raise DeploymentError(
                f"bucket {bucket.name} exists but cannot be used ({_error_code(exc)}); "
                "pick another with --artifacts-bucket"
            ) from None
    arguments: dict[str, Any] = {"Bucket": bucket.name}
    if region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        bucket.s3.create_bucket(**arguments)  # CreateBucket takes no ExpectedBucketOwner
    except ClientError as exc:
        if _error_code(exc) == "BucketAlreadyExists":
            raise ForeignBucket(
                f"bucket name {bucket.name} is taken by another account; "
                "pick another with --artifacts-bucket"
            ) from None
        if _error_code(exc) != "BucketAlreadyOwnedByYou":
            raise
        return False
    if harden:
        _harden(bucket, require_tls)
    return True


def _harden(bucket: OwnedBucket, require_tls: bool) -> None:
    bucket.call(
        "put_public_access_block",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    bucket.call(
        "put_bucket_encryption",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    bucket.call("put_bucket_versioning", VersioningConfiguration={"Status": "Enabled"})
    if not require_tls:
        return
    arn = f"arn:aws:s3:::{bucket.name}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    bucket.call("put_bucket_policy", Policy=json.dumps(policy))


def upload_content_addressed(bucket: OwnedBucket, prefix: str, data: bytes, suffix: str) -> Upload:
    """Upload under a key named by the content's hash (skipped when already there)."""
    return put_if_changed(bucket, content_key(prefix, data, suffix), data)


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


@dataclass(frozen=True)
class VersionUpload:
    """A bundle uploaded as a version: its hash, what was written, whether it is now current."""

    version: str
    uploads: tuple[Upload, ...]
    current: bool


def upload_mapping_bundle(
    bucket: OwnedBucket,
    bundle: Path,
    prefix: str,
    signer: ManifestSigner,
    *,
    make_current: bool = True,
    now: str | None = None,
) -> VersionUpload:
    """Upload the bundle as a version under `prefix`, then (by default) make it the current one.

    Modules first, the signed manifest last, unchanged objects skipped: a
    reader never sees a manifest naming a module that is not there yet. The
    manifest goes up only inside its signed envelope; it is signed again only
    when the envelope the bucket holds does not sign these bytes with this key.
    The pointer is written last, and only when it names another version.
    """
    *modules, manifest_path = _checked_bundle_files(bundle)
    manifest = manifest_path.read_bytes()
    version = version_of(manifest)
    under = version_prefix(prefix, version)
    uploads = [
        put_if_changed(bucket, under + path.relative_to(bundle).as_posix(), path.read_bytes())
        for path in modules
    ]
    key = under + SIGNED_MANIFEST_NAME
    held = bucket.read(key)
    if held is not None and signer.holds(held, manifest):
        uploads.append(Upload(bucket.name, key, hashlib.sha256(held).hexdigest(), written=False))
    else:
        uploads.append(put_if_changed(bucket, key, signer.sign(manifest)))
    if make_current:
        pointer = point_current(bucket, prefix, version, now=now)
        if pointer is not None:
            uploads.append(pointer)
    return VersionUpload(version, tuple(uploads), make_current)


def held_current(bucket: OwnedBucket, prefix: str) -> CurrentVersion | None:
    """The pointer the bucket holds; None when there is none (or it is not one: it is rewritten)."""
    data = bucket.read(current_key(prefix))
    if data is None:
        return None
    try:
        return CurrentVersion.from_json(data, current_key(prefix))
    except BundleContractError:
        return None


def point_current(
    bucket: OwnedBucket, prefix: str, version: str, *, now: str | None = None
) -> Upload | None:
    """Point `current.json` at `version`; None when it already does (nothing is written)."""
    held = held_current(bucket, prefix)
    if held is not None and held.sha256 == version:
        return None
    stamp = now or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return put_if_changed(
        bucket, current_key(prefix), CurrentVersion(sha256=version, made_current_at=stamp).to_json()
    )
