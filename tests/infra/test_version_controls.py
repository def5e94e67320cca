"""Who may move a client to another mapping bundle version: operators only (docs/security.md, row 8).

The current version is `mappings/current.json` and the versions live under
`mappings/versions/`: no function role and no tenant role may write there,
and the bucket policy denies it to every principal but the deploy role. A
client's pin is its item's `bundle_pin`: no tenant role's UpdateItem may name
it (and none may PutItem), so a compromised function, which can open a tenant
session for any client, still cannot pin one. Evaluated on the template's own
documents (policy_eval.py); moto enforces no IAM.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from policy_eval import Decision, Request, evaluate
from template_values import RESOURCES, get_att, identity_documents, ref, resolve, role_arn

from runtime.config_store import ConfigStore
from runtime.errors import InvalidClientConfig

STAGES = ("Extractor", "Transformer", "Loader")
CLIENTS = get_att("ClientsTable", "Arn")
BUCKET = get_att("ConfigBucket", "Arn")
VERSION = "9c4f0e6a1d2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5"
VERSION_KEYS = (
    f"{BUCKET}/mappings/current.json",
    f"{BUCKET}/mappings/versions/{VERSION}/signed-manifest.json",
    f"{BUCKET}/mappings/versions/{VERSION}/kong.py",
)
WRITES = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion")
KEYWORDS = {"SET", "REMOVE", "AND", "OR", "NOT", "attribute_exists", "attribute_not_exists"}


def _pin_attributes() -> set[str]:
    """The attributes `siesa map pin` and `unpin` write, read from ConfigStore's own requests."""
    calls: list[dict[str, Any]] = []

    class Recorder:
        def update_item(self, **arguments: Any) -> dict[str, Any]:
            calls.append(arguments)
            return {"Attributes": {}}

    store = ConfigStore("siesa-integration-clients", dynamodb=Recorder())
    for version in (VERSION, None):
        # the recorder's answer holds no item, which does not validate: the request was made
        with contextlib.suppress(InvalidClientConfig):
            store.set_pin("cliente-a", version)
    assert len(calls) == 2
    named: set[str] = set()
    for call in calls:
        expression = f"{call['UpdateExpression']} {call['ConditionExpression']}"
        named |= set(re.findall(r"(?<![:#\w])([A-Za-z_]+)", expression)) - KEYWORDS
    return named


def _tenant_context(stage: str) -> dict[str, Any]:
    return {
        "aws:PrincipalArn": role_arn(f"{stage}TenantRole"),
        "aws:PrincipalTag/client_id": "cliente-a",
        "dynamodb:LeadingKeys": ["cliente-a"],
    }


@pytest.mark.parametrize("stage", STAGES)
def test_a_tenant_session_cannot_pin_or_unpin_its_own_client(stage: str) -> None:
    written = _pin_attributes()
    assert "bundle_pin" in written
    documents = identity_documents(f"{stage}TenantRole")
    context = _tenant_context(stage)
    for attributes in (sorted(written), ["client_id", "bundle_pin"], ["bundle_pin"]):
        request = Request(
            "dynamodb:UpdateItem", CLIENTS, {**context, "dynamodb:Attributes": attributes}
        )
        assert not evaluate(request, documents).allowed, (stage, attributes)
    for action in ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
        assert not evaluate(Request(action, CLIENTS, context), documents).allowed, action


def test_no_tenant_role_lists_the_pin_among_its_writable_attributes() -> None:
    for stage in STAGES:
        for document in identity_documents(f"{stage}TenantRole"):
            for statement in document["Statement"]:
                condition = statement.get("Condition", {}).get("ForAllValues:StringEquals", {})
                assert "bundle_pin" not in condition.get("dynamodb:Attributes", []), stage


@pytest.mark.parametrize(
    "role", [f"{stage}{kind}" for stage in STAGES for kind in ("Role", "TenantRole")]
)
def test_no_function_or_tenant_role_may_write_a_version_or_the_pointer(role: str) -> None:
    documents = identity_documents(role)
    context = {"aws:PrincipalArn": role_arn(role), "aws:PrincipalTag/client_id": "cliente-a"}
    for key in VERSION_KEYS:
        for action in WRITES:
            assert not evaluate(Request(action, key, context), documents).allowed, (action, key)


def test_the_bucket_policy_denies_version_writes_to_all_but_the_deploy_role() -> None:
    document = resolve(RESOURCES["ConfigBucketPolicy"]["Properties"]["PolicyDocument"])
    # the statement that guards mappings/ (the TLS ones need operators policy_eval does not model)
    guard = [s for s in document["Statement"] if s.get("Sid") == "OnlyTheDeployRoleWritesMappings"]
    policy = {"Statement": guard}
    secure: dict[str, Any] = {}
    principals = [role_arn(f"{stage}{kind}") for stage in STAGES for kind in ("Role", "TenantRole")]
    for key in VERSION_KEYS:
        for action in WRITES:
            for principal in principals:
                context = {**secure, "aws:PrincipalArn": principal}
                decision = evaluate(Request(action, key, context, principal=principal), [policy])
                assert decision is Decision.EXPLICIT_DENY, (principal, action, key)
            deploy = ref("DeployRoleArn")
            context = {**secure, "aws:PrincipalArn": deploy}
            decision = evaluate(Request(action, key, context, principal=deploy), [policy])
            assert decision is not Decision.EXPLICIT_DENY, (action, key)
