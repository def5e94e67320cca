"""The template's IAM documents with Ref, GetAtt and Sub resolved as CloudFormation would, for tests.

Resource names come from the template itself (TableName, BucketName through
its parameter's default, RoleName...), pseudo parameters from fixed test
values; `${!x}` in a Sub is the literal `${x}`, as in CloudFormation, which is
how the policies carry `${aws:PrincipalTag/client_id}` through a Sub.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ops.deploy import infra

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT = "123456789012"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/siesa-deploy"

TEMPLATE: dict[str, Any] = infra.load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]

_PSEUDO = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
_PARAMETERS = {"DeployRoleArn": DEPLOY_ROLE, "Environment": "test"}
_SUB = re.compile(r"\$\{(!?)([^}]*)\}")


def ref(name: str) -> str:
    """What `!Ref name` resolves to."""
    if name in _PSEUDO:
        return _PSEUDO[name]
    if name in _PARAMETERS:
        return _PARAMETERS[name]
    if name in TEMPLATE.get("Parameters", {}):
        return str(TEMPLATE["Parameters"][name]["Default"])
    body = RESOURCES[name]
    properties = body.get("Properties", {})
    kind = body["Type"]
    if kind == "AWS::DynamoDB::Table":
        return str(resolve(properties["TableName"]))
    if kind == "AWS::S3::Bucket":
        return str(resolve(properties["BucketName"]))
    if kind == "AWS::IAM::Role":
        return str(resolve(properties["RoleName"]))
    if kind == "AWS::Logs::LogGroup":
        return str(resolve(properties["LogGroupName"]))
    if kind == "AWS::KMS::Key":
        return f"key-{name}"
    if kind == "AWS::SNS::Topic":
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{resolve(properties['TopicName'])}"
    if kind == "AWS::Lambda::Function":
        return str(resolve(properties["FunctionName"]))
    if kind == "AWS::StepFunctions::StateMachine":
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{properties['StateMachineName']}"
    raise KeyError(f"no test value for !Ref {name} ({kind})")


def get_att(name: str, attribute: str) -> str:
    """What `!GetAtt name.attribute` resolves to (only Arn is used by the policies)."""
    if attribute != "Arn":
        raise KeyError(f"no test value for !GetAtt {name}.{attribute}")
    kind = RESOURCES[name]["Type"]
    plain = ref(name)
    arns = {
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{plain}",
        "AWS::S3::Bucket": f"arn:aws:s3:::{plain}",
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{plain}",
        "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{plain}:*",
        "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{plain}",
        "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{plain}",
    }
    return arns.get(kind) or plain


def _sub(text: str, variables: Mapping[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        literal, name = match.groups()
        if literal:
            return "${" + name + "}"
        if name in variables:
            return str(resolve(variables[name]))
        if "." in name:
            resource, _, attribute = name.partition(".")
            return get_att(resource, attribute)
        return ref(name)

    return _SUB.sub(replace, text)


def resolve(value: Any) -> Any:
    """`value` with every Ref, GetAtt and Sub resolved, recursively."""
    if isinstance(value, list):
        return [resolve(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return ref(value["Ref"])
    if set(value) == {"Fn::GetAtt"}:
        return get_att(*value["Fn::GetAtt"])
    if set(value) == {"Fn::Sub"}:
        argument = value["Fn::Sub"]
        if isinstance(argument, list):
            return _sub(argument[0], argument[1])
        return _sub(argument, {})
    if any(key.startswith("Fn::") for key in value):
        raise KeyError(f"no test resolution for {sorted(value)}")
    return {key: resolve(item) for key, item in value.items()}


def role_arn(logical_id: str) -> str:
    """The ARN of a role of the template."""
    return get_att(logical_id, "Arn")


def identity_documents(logical_id: str) -> list[dict[str, Any]]:
    """A role's inline policy documents, resolved."""
    policies = RESOURCES[logical_id]["Properties"].get("Policies", [])
    return [resolve(policy["PolicyDocument"]) for policy in policies]


def trust_document(logical_id: str) -> dict[str, Any]:
    """A role's trust policy, resolved."""
    resolved: dict[str, Any] = resolve(
        RESOURCES[logical_id]["Properties"]["AssumeRolePolicyDocument"]
    )
    return resolved
