"""IAM: no wildcard actions, resources scoped to siesa-integration-*, least privilege per role."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest

from local.embedded_aws import LocalAws
from local.provision import ProvisionResult
from ops.deploy import infra

TEMPLATE: dict[str, Any] = infra.load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
ROLES = {name: body for name, body in RESOURCES.items() if body["Type"] == "AWS::IAM::Role"}

# CloudWatch Logs delivery for Step Functions supports no resource-level permissions.
UNSCOPABLE_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _allowed_actions(role_name: str) -> set[str]:
    return {
        action
        for statement in _role_statements(ROLES[role_name])
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    }


def _all_allow_statements() -> list[dict[str, Any]]:
    """Allow statements of every role policy, key policy and bucket policy in the template."""
    found = [s for role in ROLES.values() for s in _role_statements(role)]
    for body in RESOURCES.values():
        document = body["Properties"].get("KeyPolicy") or body["Properties"].get("PolicyDocument")
        if document:
            found.extend(document["Statement"])
    return [statement for statement in found if statement["Effect"] == "Allow"]


def _parse_document(text: str) -> dict[str, Any]:
    """A policy document as moto returns it: JSON, or (from CloudFormation) a Python repr."""
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = ast.literal_eval(text)
    assert isinstance(parsed, dict)
    return parsed


def test_no_statement_allows_a_wildcard_action() -> None:
    statements = _all_allow_statements()
    assert len(statements) > 20
    for statement in statements:
        for action in _as_list(statement["Action"]):
            assert "*" not in action and "?" not in action, statement


def test_wildcard_resources_only_for_actions_aws_cannot_scope() -> None:
    """Allows only: the tenant roles' one Deny of everything to an untagged session is wide on purpose."""
    for role in ROLES.values():
        for statement in _role_statements(role):
            if statement["Effect"] == "Allow" and "*" in _as_list(statement["Resource"]):
                assert set(_as_list(statement["Action"])) <= UNSCOPABLE_ACTIONS, statement


def test_the_only_deny_of_a_role_refuses_everything_to_a_session_without_the_client_tag() -> None:
    for name, role in ROLES.items():
        denies = [s for s in _role_statements(role) if s["Effect"] == "Deny"]
        if name.endswith("TenantRole"):
            assert denies == [
                {
                    "Sid": "NothingWithoutTheClientTag",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"Null": {"aws:PrincipalTag/client_id": "true"}},
                }
            ], name
        else:
            assert denies == [], name


def test_role_names_are_scoped_and_each_function_has_its_own_role() -> None:
    names = {body["Properties"]["RoleName"] for body in ROLES.values()}
    assert names == {
        "siesa-integration-extractor-role",
        "siesa-integration-transformer-role",
        "siesa-integration-loader-role",
        "siesa-integration-extractor-tenant-role",
        "siesa-integration-transformer-tenant-role",
        "siesa-integration-loader-tenant-role",
        "siesa-integration-stepfunctions-role",
        "siesa-integration-eventbridge-role",
    }


def test_secrets_are_read_only_by_the_tenant_role_of_the_stage_that_needs_them() -> None:
    """Through a session tagged client_id (tests/infra/test_tenant_isolation.py); no function role."""

    def secret_resources(role: str) -> list[str]:
        return [
            resource["Fn::Sub"]
            for statement in _role_statements(ROLES[role])
            if statement["Effect"] == "Allow"
            and "secretsmanager:GetSecretValue" in _as_list(statement["Action"])
            for resource in _as_list(statement["Resource"])
        ]

    tenant = "siesa-integration/${!aws:PrincipalTag/client_id}"
    assert [r.split(":secret:", 1)[1] for r in secret_resources("ExtractorTenantRole")] == [
        f"{tenant}/siesa-??????"
    ]
    assert sorted(r.split(":secret:", 1)[1] for r in secret_resources("LoaderTenantRole")) == [
        f"{tenant}/kong-??????",
        f"{tenant}/wms-??????",
    ]
    for role in ("TransformerTenantRole", "ExtractorRole", "TransformerRole", "LoaderRole"):
        assert secret_resources(role) == [], role


def test_each_role_allows_what_its_job_needs_and_no_more() -> None:
    """Matched against the runtime. A function role opens its tenant sessions and writes its
    logs; the transformer's also reads and verifies the bundle. Through a tenant session every
    stage reads its client's config, records run history and a run's outcome on the client
    item, and streams run data (multipart uploads may abort)."""
    function = {"logs:CreateLogStream", "logs:PutLogEvents", "sts:AssumeRole", "sts:TagSession"}
    # whether the execution holding a client's run lease still runs (runtime/run_lease.py)
    assert _allowed_actions("ExtractorRole") == function | {"states:DescribeExecution"}
    # the bundle and its signature (mappings/ only: tenant data is the tenant role's)
    assert _allowed_actions("TransformerRole") == function | {
        "s3:GetObject",
        "s3:ListBucket",
        "kms:Verify",
        "kms:Decrypt",  # the bundle is SSE-KMS under ConfigBucketKey
    }
    assert _allowed_actions("LoaderRole") == function
    tenant = {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:ListBucket",
        "kms:Decrypt",  # run data is SSE-KMS under ConfigBucketKey, secrets under SecretsKey
        "kms:GenerateDataKey",
    }
    assert _allowed_actions("ExtractorTenantRole") == tenant | {
        "s3:DeleteObject",  # drops a page emptied by deduplication
        "secretsmanager:GetSecretValue",
        "dynamodb:BatchGetItem",  # the dedup index across invocations (stages/dedup_index.py)
        "dynamodb:BatchWriteItem",
    }
    assert _allowed_actions("TransformerTenantRole") == tenant
    # the loader runs no mapping code: no bundle, no signing key (only runs/ and its secrets)
    assert _allowed_actions("LoaderTenantRole") == tenant | {"secretsmanager:GetSecretValue"}
    assert _allowed_actions("StepFunctionsRole") == UNSCOPABLE_ACTIONS | {
        "lambda:InvokeFunction",
        "dynamodb:UpdateItem",
        "sns:Publish",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        # the distributed Map over a large run's pages: their keys listed, child executions
        "s3:ListBucket",
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
    }
    assert _allowed_actions("EventBridgeRole") == {"states:StartExecution"}


@pytest.mark.parametrize(
    ("role", "service"),
    [
        ("ExtractorRole", "lambda.amazonaws.com"),
        ("TransformerRole", "lambda.amazonaws.com"),
        ("LoaderRole", "lambda.amazonaws.com"),
        ("StepFunctionsRole", "states.amazonaws.com"),
        ("EventBridgeRole", "events.amazonaws.com"),
    ],
)
def test_roles_trust_only_their_service(role: str, service: str) -> None:
    trust = ROLES[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [statement["Principal"] for statement in trust] == [{"Service": service}]


@pytest.mark.parametrize("stage", ["Extractor", "Transformer", "Loader"])
def test_tenant_roles_trust_only_their_function_role(stage: str) -> None:
    """Evaluated with the tag rules in tests/infra/test_tenant_isolation.py."""
    trust = ROLES[f"{stage}TenantRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [statement["Principal"] for statement in trust] == [
        {"AWS": {"Fn::GetAtt": [f"{stage}Role", "Arn"]}}
    ]
    assert ROLES[f"{stage}TenantRole"]["Properties"]["MaxSessionDuration"] == 3600


def test_deployed_policies_resolve_to_siesa_integration_resources(
    deployed: tuple[LocalAws, ProvisionResult],
) -> None:
    """After CloudFormation resolves Ref/GetAtt, every scoped resource names siesa-integration."""
    aws, _ = deployed
    iam = aws.client("iam")
    aliases = aws.client("kms").list_aliases()["Aliases"]
    # keys are named by id; the stack's own keys carry siesa-integration aliases
    own_keys = {
        f"arn:aws:kms:{aws.region}:{aws.account_id}:key/{alias['TargetKeyId']}"
        for alias in aliases
        if alias["AliasName"].startswith("alias/siesa-integration-")
    }
    # logs, alerts, secrets, config bucket, the stack's mapping-signing key, and the one the
    # embedded AWS signs with (moto's CloudFormation cannot make an asymmetric key:
    # ops/deploy/signing.py)
    assert len(own_keys) == 6
    roles = [
        role["RoleName"]
        for role in iam.list_roles()["Roles"]
        if role["RoleName"].startswith("siesa-integration-")
    ]
    assert len(roles) == 8
    checked = 0
    for role_name in roles:
        for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)[
                "PolicyDocument"
            ]
            if isinstance(document, str):
                document = _parse_document(document)
            for statement in document["Statement"]:
                if set(_as_list(statement["Action"])) <= UNSCOPABLE_ACTIONS:
                    continue
                if statement["Effect"] == "Deny":
                    continue  # the tenant roles' deny of everything to an untagged session
                for resource in _as_list(statement["Resource"]):
                    assert "siesa-integration" in resource or resource in own_keys, (
                        role_name,
                        statement,
                    )
                    assert resource != "*"
                    checked += 1
    assert checked >= 25


def test_the_workflow_lists_only_run_pages_and_starts_only_its_own_iterations() -> None:
    statements = {
        statement["Sid"]: statement
        for statement in TEMPLATE["Resources"]["StepFunctionsRole"]["Properties"]["Policies"][0][
            "PolicyDocument"
        ]["Statement"]
    }
    listing = statements["ListRunPages"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["runs/*"]}}
    assert "stateMachine:siesa-integration-workflow" in str(
        statements["RunPageIterations"]["Resource"]
    )
    assert "execution:siesa-integration-workflow/*" in str(
        statements["FollowPageIterations"]["Resource"]
    )
