"""moto's AWS set up the way the platform expects it, shared by the runtime and Connekta tests.

`aws_env` and `compiled_bundle_dir` are fixtures: a conftest that imports them
offers them to its folder. The functions build the platform's tables and bucket
from the runtime's own schemas and seed secrets and the compiled bundle, so both
folders' tests start from one and the same AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from moto import mock_aws

from runtime import aws as aws_clients
from runtime import mapping_loader, observability, secrets, settings
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
    """Forget the secrets, mapping modules and registered secret values the runtime keeps.

    boto3 clients are kept: moto intercepts every client once moto is imported,
    and each mock_aws() starts with empty backends, so reusing them is safe and fast.
    """
    secrets.clear_cache()
    mapping_loader.clear_cache()
    observability.forget_secrets()


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
        settings.CONFIG_BUCKET_ENV,
        settings.MAPPINGS_PREFIX_ENV,
        settings.BATCH_SIZE_ENV,
        settings.RUN_PAGE_SIZE_ENV,
        settings.SECRETS_TTL_ENV,
    ):
        monkeypatch.delenv(name, raising=False)
    reset_runtime_caches()
    yield
    reset_runtime_caches()


@contextmanager
def platform_resources() -> Iterator[AwsResources]:
    """moto's AWS with the clients and runs tables and the config bucket."""
    with mock_aws():
        s3 = aws_clients.client("s3")
        dynamodb = aws_clients.client("dynamodb")
        dynamodb.create_table(TableName=settings.clients_table(), **CLIENTS_TABLE_SCHEMA)
        dynamodb.create_table(TableName=settings.runs_table(), **RUNS_TABLE_SCHEMA)
        bucket = settings.config_bucket()
        s3.create_bucket(Bucket=bucket)
        yield AwsResources(s3, dynamodb, aws_clients.client("secretsmanager"), bucket)


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
    """Put a compiled bundle directory where the runtime looks for it."""
    prefix = settings.mappings_prefix()
    for path in sorted(bundle_dir.iterdir()):
        s3.put_object(Bucket=bucket, Key=prefix + path.name, Body=path.read_bytes())
