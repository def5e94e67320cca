"""Customer-managed keys: secrets and the config bucket under keys of their own, policies that
delegate use to IAM through one service only, and every service principal tied to this account."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.deploy import infra

TEMPLATE: dict[str, Any] = infra.load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
KEYS = {name: body for name, body in RESOURCES.items() if body["Type"] == "AWS::KMS::Key"}
ACCOUNT = {"Ref": "AWS::AccountId"}
ROOT = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
USE = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"}
BUCKET_GRANT = {"UseConfigBucketKey": {"kms:Decrypt", "kms:GenerateDataKey"}}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(key: str) -> list[dict[str, Any]]:
    return list(KEYS[key]["Properties"]["KeyPolicy"]["Statement"])


def _role_statements(role: str) -> dict[str, dict[str, Any]]:
    """A role's inline policy statements by Sid."""
    return {
        statement["Sid"]: statement
        for policy in RESOURCES[role]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    }


def test_every_statement_for_a_service_principal_is_tied_to_this_account() -> None:
    found = 0
    for key in KEYS:
        for statement in _statements(key):
            if "Service" not in statement.get("Principal", {}):
                continue
            found += 1
            condition = statement.get("Condition", {})
            assert condition.get("StringEquals", {}).get("aws:SourceAccount") == ACCOUNT, (
                key,
                statement["Sid"],
            )
    assert found == 2  # CloudWatch Logs on LogsKey, CloudWatch alarms on AlertsKey


def test_the_alarms_may_use_the_alerts_key_only_for_our_alarms() -> None:
    (alarms,) = [s for s in _statements("AlertsKey") if s["Sid"] == "CloudWatchAlarmsPublish"]
    assert alarms["Condition"]["ArnLike"]["aws:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}"
        ":alarm:siesa-integration-*"
    }
    (logs,) = [s for s in _statements("LogsKey") if s["Sid"] == "CloudWatchLogsUseKey"]
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]  # kept


@pytest.mark.parametrize(
    ("key", "service"),
    [
        ("SecretsKey", "secretsmanager"),
        ("ConfigBucketKey", "s3"),
        ("AlertsKey", "sns"),
    ],
)
def test_the_account_may_use_a_key_only_through_its_service(key: str, service: str) -> None:
    """Use is granted to IAM (the account root), and only via the one service: the roles that
    need it get it in their own policies; no principal may decrypt with the key directly."""
    for statement in _statements(key):
        actions = set(_as_list(statement["Action"])) & USE
        if not actions:
            continue
        if statement.get("Principal") == {"AWS": ROOT}:
            equals = statement["Condition"]["StringEquals"]
            assert equals["kms:ViaService"] == {
                "Fn::Sub": f"{service}.${{AWS::Region}}.amazonaws.com"
            }, statement["Sid"]


@pytest.mark.parametrize("key", ["SecretsKey", "ConfigBucketKey"])
def test_the_new_keys_rotate_and_the_account_administers_them(key: str) -> None:
    properties = KEYS[key]["Properties"]
    assert properties["EnableKeyRotation"] is True
    assert properties.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    (admin,) = [s for s in _statements(key) if s["Sid"] == "AccountAdministersKey"]
    assert admin["Principal"] == {"AWS": ROOT}
    assert not set(admin["Action"]) & USE  # administering is not using
    assert {s["Effect"] for s in _statements(key)} == {"Allow"}


def test_secrets_grant_is_scoped_to_siesa_integration_secrets() -> None:
    (use,) = [
        s for s in _statements("SecretsKey") if s["Sid"] == "AccountUsesKeyThroughSecretsManager"
    ]
    assert use["Condition"]["StringLike"]["kms:EncryptionContext:SecretARN"] == {
        "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
        ":secret:siesa-integration/*"
    }


def test_the_config_bucket_is_encrypted_by_default_with_its_own_key_and_a_bucket_key() -> None:
    (rule,) = RESOURCES["ConfigBucket"]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["ConfigBucketKey", "Arn"]},
    }
    assert rule["BucketKeyEnabled"] is True


@pytest.mark.parametrize(
    ("role", "grants"),
    [
        ("ExtractorTenantRole", {"DecryptOwnSecrets": {"kms:Decrypt"}, **BUCKET_GRANT}),
        ("TransformerTenantRole", BUCKET_GRANT),
        ("LoaderTenantRole", {"DecryptOwnSecrets": {"kms:Decrypt"}, **BUCKET_GRANT}),
        ("TransformerRole", {"DecryptMappingBundle": {"kms:Decrypt"}}),  # reads mappings/
    ],
)
def test_roles_get_the_keys_they_need_in_statements_of_their_own(
    role: str, grants: dict[str, set[str]]
) -> None:
    statements = _role_statements(role)
    reading_secrets = any(
        "secretsmanager:GetSecretValue" in _as_list(s["Action"]) for s in statements.values()
    )
    assert ("DecryptOwnSecrets" in grants) == reading_secrets
    on_keys = {
        sid: set(_as_list(s["Action"]))
        for sid, s in statements.items()
        if "SecretsKey" in json.dumps(s) or "ConfigBucketKey" in json.dumps(s)
    }
    assert on_keys == grants
    for sid in grants:
        assert "kms:ViaService" in statements[sid]["Condition"]["StringEquals"], sid
    if "DecryptOwnSecrets" in grants:
        secrets = statements["DecryptOwnSecrets"]
        assert secrets["Resource"] == {"Fn::GetAtt": ["SecretsKey", "Arn"]}
        # the session's own client's secrets only, as the secret grant itself
        assert secrets["Condition"]["StringLike"]["kms:EncryptionContext:SecretARN"] == {
            "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
            ":secret:siesa-integration/${!aws:PrincipalTag/client_id}/*"
        }
    if role.endswith("TenantRole"):
        for sid in grants:  # like every grant of a tenant role: nothing without the tag
            assert statements[sid]["Condition"]["Null"] == {"aws:PrincipalTag/client_id": "false"}


def test_no_other_role_reaches_the_new_keys() -> None:
    allowed = {
        "ExtractorTenantRole",
        "TransformerTenantRole",
        "LoaderTenantRole",
        "TransformerRole",
    }
    for name, body in RESOURCES.items():
        if body["Type"] != "AWS::IAM::Role" or name in allowed:
            continue
        text = json.dumps(body)
        assert "SecretsKey" not in text and "ConfigBucketKey" not in text, name


def test_operators_find_the_keys_in_the_outputs() -> None:
    outputs = TEMPLATE["Outputs"]
    assert outputs["SecretsKeyArn"]["Value"] == {"Fn::GetAtt": ["SecretsKey", "Arn"]}
    assert outputs["ConfigBucketKeyArn"]["Value"] == {"Fn::GetAtt": ["ConfigBucketKey", "Arn"]}
