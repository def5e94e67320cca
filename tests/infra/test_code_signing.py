"""Lambda code signing as a template option: off by default, enforced on every function when set.

moto's CloudFormation cannot create `AWS::Lambda::CodeSigningConfig`, so the
template is evaluated here both ways (its conditions, `Fn::If` and
`AWS::NoValue`, resolved as CloudFormation resolves them) and cfn-lint checks
it (test_template_lint.py); the embedded AWS deploys it with the option off.
"""

from __future__ import annotations

from typing import Any

import pytest

from ops.deploy import infra
from ops.deploy.parameters import check_value
from ops.errors import DeploymentError

TEMPLATE: dict[str, Any] = infra.load_template()
PARAMETER = "CodeSigningProfileVersionArn"
PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/siesa_integration/a1b2c3d4e5"
NO_VALUE = {"Ref": "AWS::NoValue"}


def _condition(expression: Any, parameters: dict[str, str]) -> Any:
    """The value of a condition made of Fn::Not, Fn::Equals and Ref (what this template uses)."""
    if isinstance(expression, dict):
        ((function, argument),) = expression.items()
        if function == "Ref":
            return parameters[argument]
        if function == "Fn::Not":
            return not _condition(argument[0], parameters)
        if function == "Fn::Equals":
            left, right = (_condition(item, parameters) for item in argument)
            return left == right
        raise AssertionError(f"unexpected {function} in a condition")
    return expression


def _resolve(node: Any, conditions: dict[str, bool]) -> Any:
    """`node` with every Fn::If decided and every AWS::NoValue dropped."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return _resolve(when_true if conditions[name] else when_false, conditions)
        resolved = {key: _resolve(value, conditions) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value != NO_VALUE}
    if isinstance(node, list):
        return [
            _resolve(item, conditions) for item in node if _resolve(item, conditions) != NO_VALUE
        ]
    return node


def _deployed(profile: str) -> dict[str, Any]:
    """The resources CloudFormation creates with `CodeSigningProfileVersionArn=profile`."""
    parameters = {
        name: str(body.get("Default", "")) for name, body in TEMPLATE["Parameters"].items()
    }
    parameters[PARAMETER] = profile
    conditions = {
        name: bool(_condition(expression, parameters))
        for name, expression in TEMPLATE["Conditions"].items()
    }
    return {
        name: _resolve(body, conditions)
        for name, body in TEMPLATE["Resources"].items()
        if conditions.get(body.get("Condition", ""), True)
    }


def _functions(resources: dict[str, Any]) -> dict[str, Any]:
    return {
        name: body["Properties"]
        for name, body in resources.items()
        if body["Type"] == "AWS::Lambda::Function"
    }


def test_code_signing_is_off_by_default() -> None:
    assert TEMPLATE["Parameters"][PARAMETER]["Default"] == ""
    resources = _deployed("")
    assert not [body for body in resources.values() if "CodeSigning" in body["Type"]]
    functions = _functions(resources)
    assert len(functions) == 3
    assert not [name for name, body in functions.items() if "CodeSigningConfigArn" in body]


def test_a_signing_profile_makes_every_function_refuse_unsigned_code() -> None:
    resources = _deployed(PROFILE)
    config = resources["LambdaCodeSigningConfig"]["Properties"]
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
    assert config["AllowedPublishers"] == {"SigningProfileVersionArns": [{"Ref": PARAMETER}]}
    functions = _functions(resources)
    assert len(functions) == 3
    for name, body in functions.items():
        assert body["CodeSigningConfigArn"] == {
            "Fn::GetAtt": ["LambdaCodeSigningConfig", "CodeSigningConfigArn"]
        }, name


@pytest.mark.parametrize(
    "value",
    [
        "not-an-arn",
        "arn:aws:signer:us-east-1:123456789012:/signing-profiles/siesa_integration",
        "arn:aws:iam::123456789012:role/signer",
    ],
)
def test_the_parameter_takes_only_a_signing_profile_version_arn(value: str) -> None:
    declaration = TEMPLATE["Parameters"][PARAMETER]
    check_value(PARAMETER, "", declaration)
    check_value(PARAMETER, PROFILE, declaration)
    with pytest.raises(DeploymentError, match=PARAMETER):
        check_value(PARAMETER, value, declaration)
