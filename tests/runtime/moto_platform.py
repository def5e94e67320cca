"""moto's AWS set up the way the platform expects it, shared by the runtime and Connekta tests.

`aws_env` and `compiled_bundle_dir` are fixtures: a conftest that imports them
offers them to its folder. The functions build the platform's tables and bucket
from the runtime's own schemas and seed secrets and the compiled bundle, so both
folders' tests start from one and the same AWS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from moto import mock_aws

from runtime import aws as aws_clients
from runtime import mapping_loader, observability, pause_cache, secrets, settings
from runtime.config_store import CLIENTS_TABLE_SCHEMA
from runtime.sync_state import RUNS_TABLE_SCHEMA

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_REGION = "us-east-1"


class AwsResources(NamedTuple):
    """Clients of moto's AWS and the name of the platform's config bucket."""

    s3: Any
    dynamodb: Any
    secretsmanager: Any
    bucket: str


def reset_runtime_caches() -> None:
    """Forget the secrets, mapping modules, registered secret values and pauses the runtime keeps.

    boto3 clients are kept: moto intercepts every client once moto is imported,
    and each mock_aws() starts with empty backends, so reusing them is safe and fast.
    """
    secrets.clear_cache()
    mapping_loader.clear_cache()
    observability.forget_secrets()
    pause_cache.forget_pauses()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and default resource names; no endpoint override; fresh caches.

    ENVIRONMENT is `local`: the tests' simulators listen on http://127.0.0.1.
    """
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": TEST_REGION,
        "AWS_REGION": TEST_REGION,
        "ENVIRONMENT": "local",  # the simulators listen on loopback, as on the local engine
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        settings.CLIENTS_TABLE_ENV,
        settings.RUNS_TABLE_ENV,
        settings.BUDGETS_TABLE_ENV,
        settings.RATE_WINDOW_ENV,
        settings.CONFIG_BUCKET_ENV,
        settings.MAPPINGS_PREFIX_ENV,
        settings.MAPPINGS_SIGNING_KEY_ENV,
        settings.BATCH_SIZE_ENV,
        settings.RUN_PAGE_SIZE_ENV,
        settings.SECRETS_TTL_ENV,
        *(settings.tenant_role_env(stage) for stage in ("extractor", "transformer", "loader")),
    ):
        monkeypatch.delenv(name, raising=False)
    reset_runtime_caches()
    yield
    reset_runtime_caches()


@contextmanager
def platform_resources() -> Iterator[AwsResources]:
    """moto's AWS with the clients and runs tables, the config bucket and the signing key.

    The key's ARN is in MAPPINGS_SIGNING_KEY_ARN while the resources live, as the
    template gives it to the functions.
    """
    with mock_aws():
        s3 = aws_clients.client("s3")
        dynamodb = aws_clients.client("dynamodb")
        dynamodb.create_table(TableName=settings.clients_table(), **CLIENTS_TABLE_SCHEMA)
        dynamodb.create_table(TableName=settings.runs_table(), **RUNS_TABLE_SCHEMA)
        bucket = settings.config_bucket()
        s3.create_bucket(Bucket=bucket)
        key = aws_clients.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
        before = os.environ.get(settings.MAPPINGS_SIGNING_KEY_ENV)
        os.environ[settings.MAPPINGS_SIGNING_KEY_ENV] = key["KeyMetadata"]["Arn"]
        try:
            yield AwsResources(s3, dynamodb, aws_clients.client("secretsmanager"), bucket)
        finally:
            if before is None:
                os.environ.pop(settings.MAPPINGS_SIGNING_KEY_ENV, None)
            else:
                os.environ[settings.MAPPINGS_SIGNING_KEY_ENV] = before


def signed_manifest_bytes(s3: Any, bucket: str, prefix: str | None = None) -> bytes:
    """The manifest bytes inside the bundle's signed envelope (not verified: tests edit them)."""
    from contract.signature import SIGNED_MANIFEST_NAME, SignedManifest

    key = (settings.mappings_prefix() if prefix is None else prefix) + SIGNED_MANIFEST_NAME
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return SignedManifest.from_json(body, key).manifest_bytes(key)


def put_signed_manifest(s3: Any, bucket: str, manifest: bytes, prefix: str | None = None) -> str:
    """Sign `manifest` with the deployment's key, as the deploy does, and upload the envelope.

    The key and KMS are the process's (MAPPINGS_SIGNING_KEY_ARN, AWS_ENDPOINT_URL), so this
    serves moto in-process and the embedded AWS that provision() exported alike.
    """
    from contract.signature import SIGNED_MANIFEST_NAME
    from ops.deploy.signing import ManifestSigner

    key_arn = settings.mappings_signing_key()
    assert key_arn is not None, "platform_resources() and provision() set the signing key"
    envelope = ManifestSigner(aws_clients.client("kms"), key_arn).sign(manifest)
    key = (settings.mappings_prefix() if prefix is None else prefix) + SIGNED_MANIFEST_NAME
    s3.put_object(Bucket=bucket, Key=key, Body=envelope)
    return key


def put_secret(
    secretsmanager: Any, client_id: str, system: str, value: dict[str, Any] | str
) -> str:
    """Create or replace `siesa-integration/{client_id}/{system}`; returns its name."""
    name = f"siesa-integration/{client_id}/{system}"
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        secretsmanager.create_secret(Name=name, SecretString=text)
    except secretsmanager.exceptions.ResourceExistsException:
        secretsmanager.put_secret_value(SecretId=name, SecretString=text)
    return name


@pytest.fixture(scope="session")
def compiled_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mappings/ compiled once per session by the real compiler (modules + manifest.json)."""
    from compiler.bundle import compile_paths

    out = tmp_path_factory.mktemp("bundle") / "mappings"
    compile_paths([REPO_ROOT / "mappings"], out)
    return out


def upload_bundle(s3: Any, bucket: str, bundle_dir: Path) -> None:
    """Put a compiled bundle directory where the runtime looks for it, its manifest signed."""
    from contract.manifest import MANIFEST_NAME

    prefix = settings.mappings_prefix()
    for path in sorted(bundle_dir.iterdir()):
        if path.name != MANIFEST_NAME:
            s3.put_object(Bucket=bucket, Key=prefix + path.name, Body=path.read_bytes())
    put_signed_manifest(s3, bucket, (bundle_dir / MANIFEST_NAME).read_bytes())
