"""Which resources a Deployment names: the environment's only for the AWS it points at.

`siesa local up` exports AWS_ENDPOINT_URL with the resources of that engine
(MAPPINGS_SIGNING_KEY_ARN, SECRETS_KMS_KEY_ARN, STATE_MACHINE_ARN ...). A
command given another `--endpoint-url` must not take those for its own: it
would verify a bundle with, or encrypt a secret under, a key that engine does
not hold.
"""

from __future__ import annotations

import pytest

from ops.deployment import SECRETS_KEY_ENV, Deployment
from runtime import settings

HERE = "http://127.0.0.1:4566"
ELSEWHERE = "http://127.0.0.1:5001"
KEY = "arn:aws:kms:us-east-1:123456789012:key/exported"


@pytest.fixture()
def exported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shell where `siesa local up` exported its engine's variables."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", HERE)
    monkeypatch.setenv(settings.MAPPINGS_SIGNING_KEY_ENV, KEY)
    monkeypatch.setenv(SECRETS_KEY_ENV, KEY)
    monkeypatch.setenv(settings.CONFIG_BUCKET_ENV, "exported-bucket")


@pytest.mark.usefixtures("exported")
def test_the_environment_names_the_resources_of_the_aws_it_points_at() -> None:
    for deployment in (Deployment(), Deployment(HERE)):
        assert deployment._named(settings.MAPPINGS_SIGNING_KEY_ENV) == KEY
        assert deployment._named(SECRETS_KEY_ENV) == KEY
        assert deployment.bucket == "exported-bucket"


@pytest.mark.usefixtures("exported")
def test_another_endpoint_does_not_take_the_environments_resources_for_its_own() -> None:
    deployment = Deployment(ELSEWHERE)
    for name in (settings.MAPPINGS_SIGNING_KEY_ENV, SECRETS_KEY_ENV):
        assert deployment._named(name) is None, name


@pytest.mark.usefixtures("exported")
def test_table_and_bucket_names_apply_at_any_endpoint() -> None:
    assert Deployment(ELSEWHERE).bucket == "exported-bucket"


def test_on_aws_with_no_endpoint_the_environment_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv(settings.MAPPINGS_SIGNING_KEY_ENV, KEY)
    assert Deployment()._named(settings.MAPPINGS_SIGNING_KEY_ENV) == KEY
