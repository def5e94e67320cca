"""Template parameters: given, else previous, else default, each checked against the template."""

from __future__ import annotations

import pytest

from ops.deploy.infra import load_template
from ops.deploy.parameters import check_given, parse_assignments, resolve_parameters
from ops.errors import DeploymentError

TEMPLATE = load_template()
REQUIRED = {
    "Environment": "test",
    "ArtifactsBucket": "siesa-integration-artifacts-1-us-east-1",
    "LambdaCodeKey": "lambda/a.zip",
    "StateMachineDefinitionKey": "statemachine/a.asl.json",
    "DeployRoleArn": "arn:aws:iam::123456789012:role/siesa-deploy",
}


def test_every_declared_parameter_gets_a_value_defaults_included() -> None:
    resolved = resolve_parameters(TEMPLATE, REQUIRED)
    assert set(resolved) == set(TEMPLATE["Parameters"])
    assert resolved["ReservedConcurrency"] == "10"
    assert resolved["AlertEmail"] == ""
    assert resolved["ConfigBucketName"] == "siesa-integration-config"


def test_a_previous_value_is_kept_unless_given_again() -> None:
    previous = {**REQUIRED, "AlertEmail": "ops@example.com", "LogLevel": "DEBUG", "Gone": "x"}
    resolved = resolve_parameters(TEMPLATE, {**REQUIRED, "LogLevel": "WARNING"}, previous)
    assert resolved["AlertEmail"] == "ops@example.com"
    assert resolved["LogLevel"] == "WARNING"
    assert "Gone" not in resolved  # a parameter the template dropped is not sent


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("Environment", "staging", "is not one of: test, prod"),
        ("ReservedConcurrency", "0", "below its minimum 1"),
        ("ReservedConcurrency", "ten", "is not a number"),
        ("RunDataRetentionDays", "4000", "above its maximum 3650"),
        ("ConfigBucketName", "my-bucket", "does not match"),
        ("AlertEmail", "not an address", "does not match"),
        ("ArtifactsBucket", "ab", "shorter than 3"),
    ],
)
def test_a_bad_value_is_refused_naming_the_parameter(name: str, value: str, words: str) -> None:
    with pytest.raises(DeploymentError) as failure:
        check_given(TEMPLATE, {name: value})
    assert str(failure.value).startswith(f"parameter {name}=")
    assert words in str(failure.value)


def test_an_unknown_parameter_is_refused_listing_the_real_ones() -> None:
    with pytest.raises(
        DeploymentError, match=r"has no parameter Concurrency .*ReservedConcurrency"
    ):
        check_given(TEMPLATE, {"Concurrency": "5"})


def test_a_parameter_without_default_must_be_given() -> None:
    given = {key: value for key, value in REQUIRED.items() if key != "LambdaCodeKey"}
    with pytest.raises(DeploymentError, match="LambdaCodeKey needs a value"):
        resolve_parameters(TEMPLATE, given)


def test_assignments_split_at_the_first_equals_sign() -> None:
    assert parse_assignments(["LogLevel=DEBUG", "AlertEmail=a=b@example.com"]) == {
        "LogLevel": "DEBUG",
        "AlertEmail": "a=b@example.com",
    }
    with pytest.raises(DeploymentError, match="not KEY=VALUE"):
        parse_assignments(["LogLevel"])
