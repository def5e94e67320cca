"""Settings read at call time (an explicit argument beats the environment) and the boto3 client cache."""

from __future__ import annotations

import pytest
from botocore.loaders import JSONFileLoader

from runtime import aws, settings
from runtime.errors import ConfigError


def test_defaults_match_the_architecture(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "CLIENTS_TABLE",
        "RUNS_TABLE",
        "CONFIG_BUCKET",
        "MAPPINGS_PREFIX",
        "BATCH_SIZE",
        "ENVIRONMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert settings.clients_table() == "siesa-integration-clients"
    assert settings.runs_table() == "siesa-integration-runs"
    assert settings.config_bucket() == "siesa-integration-config"
    assert settings.mappings_prefix() == "mappings/"
    assert settings.batch_size() == 100
    assert settings.environment() == "test"
    assert settings.aws_region() == "us-east-1"
    assert settings.secrets_ttl_seconds() == 300


def test_the_environment_is_read_at_call_time_and_explicit_values_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLIENTS_TABLE", "clients-from-env")
    monkeypatch.setenv("MAPPINGS_PREFIX", "/bundles/v2/")
    monkeypatch.setenv("BATCH_SIZE", "25")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert settings.clients_table() == "clients-from-env"
    assert settings.clients_table("explicit") == "explicit"
    assert settings.mappings_prefix() == "bundles/v2/"
    assert settings.batch_size() == 25
    assert settings.batch_size(7) == 7
    assert settings.aws_region() == "eu-west-1"
    monkeypatch.setenv("BATCH_SIZE", "60")
    assert settings.batch_size() == 60


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lots", "must be an integer"),
        ("0", "must be between 1 and 100"),
        ("101", "must be between 1 and 100"),
    ],
)
def test_a_bad_batch_size_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("BATCH_SIZE", value)
    with pytest.raises(ConfigError, match=f"BATCH_SIZE {message}"):
        settings.batch_size()


def test_an_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "staging")
    with pytest.raises(ConfigError, match="ENVIRONMENT"):
        settings.environment()


def test_clients_are_cached_per_service_region_and_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    first = aws.client("s3")
    assert aws.client("s3") is first
    assert first.meta.region_name == "us-east-1"
    assert aws.client("s3", region="eu-west-1") is not first
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    local = aws.client("s3")
    assert local is not first and local.meta.endpoint_url == "http://127.0.0.1:4566"


def test_every_session_reads_the_sdks_data_through_one_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tenant's clients do not parse the service models and endpoint tables again."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws.new_session().client("dynamodb", region_name="us-east-1")  # parsed here, if not before
    parsed: list[str] = []
    original = JSONFileLoader.load_file

    def counting(self: JSONFileLoader, file_path: str) -> object:
        parsed.append(file_path)
        return original(self, file_path)

    monkeypatch.setattr(JSONFileLoader, "load_file", counting)
    sessions = [aws.new_session() for _ in range(3)]
    for session in sessions:
        session.client("dynamodb", region_name="us-east-1")
    aws.reset_clients()
    aws.client("dynamodb", region="us-east-1")
    assert parsed == []
    loaders = {id(session._session.get_component("data_loader")) for session in sessions}
    assert len(loaders) == 1
    paths = sessions[0]._session.get_component("data_loader").search_paths
    assert len(paths) == len(set(paths))  # boto3's data folder once, however many sessions
