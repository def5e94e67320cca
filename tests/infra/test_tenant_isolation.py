"""Tenant isolation by IAM, proven on the template's own documents (docs/security.md, row 9).

moto does not enforce IAM, so the documents are evaluated (policy_eval.py): a
session of a stage's tenant role tagged `cliente-a` reaches cliente-a's secret,
run data and items, and nothing of cliente-b or cliente-ab; a session without
the tag reaches nothing; the function roles reach no tenant data at all; only a
stage's function role may open its tenant sessions, and only with the tag.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from policy_eval import Decision, Request, evaluate
from template_values import (
    ACCOUNT,
    REGION,
    RESOURCES,
    get_att,
    identity_documents,
    role_arn,
    trust_document,
)

from infra import DEFINITION_PATH
from runtime import config_store, settings
from runtime.budgets import ATTRIBUTES as BUDGET_ATTRIBUTES
from runtime.budgets import Rate, TableBudget
from runtime.config_store import ConfigStore
from runtime.stages.dedup_index import ATTRIBUTES as DEDUP_ATTRIBUTES

STAGES = ("Extractor", "Transformer", "Loader")
SECRETS_OF = {"Extractor": ("siesa",), "Transformer": (), "Loader": ("kong", "wms")}
CLIENTS = get_att("ClientsTable", "Arn")
RUNS = get_att("RunsTable", "Arn")
BUDGETS = get_att("BudgetsTable", "Arn")
DEDUP = get_att("DedupTable", "Arn")
BUDGET_STAGES = ("Extractor", "Loader")
"""The stages that call an API, so take requests from the client's budget (runtime/budgets.py)."""
BUCKET = get_att("ConfigBucket", "Arn")
RUN = "20250115T100000Z-3f9a1c"
KEYWORDS = {
    "SET",
    "REMOVE",
    "ADD",
    "AND",
    "OR",
    "NOT",
    "attribute_exists",
    "attribute_not_exists",
}
SYNC_STATUS_ATTRIBUTES = [
    "client_id",
    "last_sync_status",
    "last_sync_timestamp",
    "last_sync_run_id",
    "last_sync_records",
    "last_sync_watermark",
    "updated_at",
]


class Recorder:
    """A DynamoDB client that records the updates it is asked for (and holds no item)."""

    def __init__(self) -> None:
        self.written: list[dict[str, Any]] = []

    def update_item(self, **arguments: Any) -> dict[str, Any]:
        self.written.append(arguments)
        return {}

    def get_item(self, **arguments: Any) -> dict[str, Any]:
        return {}


def tagged(client_id: str | None, stage: str) -> dict[str, Any]:
    """The context of a request by a session of the stage's tenant role."""
    context: dict[str, Any] = {"aws:PrincipalArn": role_arn(f"{stage}TenantRole")}
    if client_id is not None:
        context["aws:PrincipalTag/client_id"] = client_id
    return context


def secret(client_id: str, system: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:siesa-integration/{client_id}/{system}-AbCdEf"


def tenant_requests(client_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every kind of access to one client's data: (action, resource, request keys)."""
    key = {"dynamodb:LeadingKeys": [client_id]}
    found: list[tuple[str, str, dict[str, Any]]] = [
        ("secretsmanager:GetSecretValue", secret(client_id, system), {})
        for system in ("siesa", "kong", "wms")
    ]
    found += [
        (action, f"{BUCKET}/runs/{client_id}/{RUN}/extracted/page-00001.ndjson", {})
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
    ]
    found += [
        ("s3:GetObject", f"{BUCKET}/runs/{client_id}/retry-state/shard-000.json", {}),
        ("s3:ListBucket", BUCKET, {"s3:prefix": f"runs/{client_id}/retry-state/"}),
        ("dynamodb:GetItem", CLIENTS, key),
        ("dynamodb:UpdateItem", CLIENTS, {**key, "dynamodb:Attributes": SYNC_STATUS_ATTRIBUTES}),
        ("dynamodb:GetItem", RUNS, key),
        ("dynamodb:UpdateItem", RUNS, {**key, "dynamodb:Attributes": ["client_id", "status"]}),
        ("dynamodb:GetItem", BUDGETS, key),
        ("dynamodb:UpdateItem", BUDGETS, {**key, "dynamodb:Attributes": list(BUDGET_ATTRIBUTES)}),
    ]
    return found


def decide(documents: list[dict[str, Any]], action: str, resource: str, **context: Any) -> Decision:
    return evaluate(Request(action, resource, context), documents)


def own_access_allowed(stage: str, action: str, resource: str) -> bool:
    """What a stage's tenant role grants on its own client's data."""
    if action == "secretsmanager:GetSecretValue":
        return any(f"/{system}-" in resource for system in SECRETS_OF[stage])
    if action == "s3:DeleteObject":
        return stage == "Extractor"  # it drops pages deduplication emptied
    if resource == BUDGETS:
        return stage in BUDGET_STAGES  # the transformer calls no API
    return True


# --- a tagged session: its own data, nobody else's ---------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_a_session_tagged_cliente_a_reaches_its_own_data_as_its_stage_needs(stage: str) -> None:
    documents = identity_documents(f"{stage}TenantRole")
    for action, resource, keys in tenant_requests("cliente-a"):
        decision = decide(documents, action, resource, **tagged("cliente-a", stage), **keys)
        assert decision.allowed == own_access_allowed(stage, action, resource), (action, resource)


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("other", ["cliente-b", "cliente-ab", "cliente-", "cliente-a-b"])
def test_a_session_tagged_cliente_a_is_denied_every_other_clients_data(
    stage: str, other: str
) -> None:
    documents = identity_documents(f"{stage}TenantRole")
    for action, resource, keys in tenant_requests(other):
        decision = decide(documents, action, resource, **tagged("cliente-a", stage), **keys)
        assert not decision.allowed, (action, resource)


@pytest.mark.parametrize("stage", STAGES)
def test_listing_reaches_only_the_clients_own_prefix(stage: str) -> None:
    documents = identity_documents(f"{stage}TenantRole")
    context = tagged("cliente-a", stage)
    for prefix in ("runs/cliente-a/", f"runs/cliente-a/{RUN}/"):
        assert decide(
            documents, "s3:ListBucket", BUCKET, **context, **{"s3:prefix": prefix}
        ).allowed
    for prefix in ("runs/", "runs/cliente-a", "runs/cliente-ab/", "mappings/", ""):
        assert not decide(
            documents, "s3:ListBucket", BUCKET, **context, **{"s3:prefix": prefix}
        ).allowed, prefix
    assert not decide(documents, "s3:ListBucket", BUCKET, **context).allowed  # no prefix at all


@pytest.mark.parametrize("stage", STAGES)
def test_no_scan_no_keyless_query_no_index_no_other_item_write(stage: str) -> None:
    """ForAllValues over dynamodb:LeadingKeys is true for a request with no key: the actions keep it out."""
    documents = identity_documents(f"{stage}TenantRole")
    context = tagged("cliente-a", stage)
    own = {"dynamodb:LeadingKeys": ["cliente-a"]}
    for table in (CLIENTS, RUNS, BUDGETS):
        assert not decide(documents, "dynamodb:Scan", table, **context).allowed
        assert not decide(documents, "dynamodb:Query", table, **context).allowed
        assert not decide(documents, "dynamodb:Query", table, **context, **own).allowed
        assert not decide(
            documents, "dynamodb:Query", f"{table}/index/enabled-index", **context
        ).allowed
        for action in ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem"):
            assert not decide(documents, action, table, **context, **own).allowed, action
    assert not decide(documents, "dynamodb:GetItem", CLIENTS, **context).allowed  # keyless
    assert not decide(
        documents,
        "dynamodb:GetItem",
        CLIENTS,
        **context,
        **{"dynamodb:LeadingKeys": ["cliente-a", "cliente-b"]},
    ).allowed


@pytest.mark.parametrize("stage", STAGES)
def test_update_item_on_the_client_is_limited_to_what_a_run_writes(stage: str) -> None:
    """A compromised stage cannot point its own client (let alone another) at its own host."""
    documents = identity_documents(f"{stage}TenantRole")
    context = {**tagged("cliente-a", stage), "dynamodb:LeadingKeys": ["cliente-a"]}

    def update(attributes: list[str], **more: Any) -> bool:
        keys = {**context, "dynamodb:Attributes": attributes, **more}
        return decide(documents, "dynamodb:UpdateItem", CLIENTS, **keys).allowed

    assert update(SYNC_STATUS_ATTRIBUTES)
    assert update(["client_id", "last_sync_status", "last_sync_timestamp", "updated_at"])
    assert update(SYNC_STATUS_ATTRIBUTES, **{"dynamodb:ReturnValues": "NONE"})
    for attribute in (
        "siesa_api_url",
        "product_api_url",
        "enabled",
        "enabled_flag",
        "product_type",
        "field_mappings_key",
        "siesa_credentials_secret",
    ):
        assert not update([*SYNC_STATUS_ATTRIBUTES, attribute]), attribute
    assert not update(SYNC_STATUS_ATTRIBUTES, **{"dynamodb:ReturnValues": "ALL_NEW"})


def test_the_allowed_attributes_are_exactly_what_config_store_writes() -> None:
    """The template's list follows the code: what update_sync_status names, and nothing else."""
    recorder = Recorder()
    written = recorder.written
    store = ConfigStore("siesa-integration-clients", dynamodb=recorder)
    store.update_sync_status(
        "cliente-a", run_id=RUN, status="success", timestamp="t", records=3, watermark="w"
    )
    (call,) = written
    named = attributes_named(call)
    assert call.get("ReturnValues", "NONE") == "NONE"
    for stage in STAGES:
        allowed = allowed_attributes(stage, "RecordOwnSyncStatus")
        assert set(allowed) == named | {"client_id"}, stage
        assert sorted(allowed) == sorted(SYNC_STATUS_ATTRIBUTES)


def attributes_named(call: dict[str, Any]) -> set[str]:
    """The attribute names an UpdateItem call's expressions use."""
    expressions = f"{call['UpdateExpression']} {call['ConditionExpression']}"
    return set(re.findall(r"(?<![:#\w])([A-Za-z_]+)", expressions)) - KEYWORDS


def allowed_attributes(stage: str, sid: str) -> list[str]:
    """The `dynamodb:Attributes` a statement of the stage's tenant role allows."""
    (statement,) = [
        s
        for document in identity_documents(f"{stage}TenantRole")
        for s in document["Statement"]
        if s.get("Sid") == sid
    ]
    return list(statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"])


@pytest.mark.parametrize("stage", BUDGET_STAGES)
def test_cliente_as_session_cannot_read_or_spend_cliente_bs_budget(stage: str) -> None:
    """A compromised worker of one client can neither see nor hold up another's requests."""
    documents = identity_documents(f"{stage}TenantRole")
    context = tagged("cliente-a", stage)
    spend = {"dynamodb:Attributes": list(BUDGET_ATTRIBUTES)}
    own, other = ["cliente-a"], ["cliente-b"]
    assert decide(documents, "dynamodb:GetItem", BUDGETS, **context, **leading(own)).allowed
    assert decide(
        documents, "dynamodb:UpdateItem", BUDGETS, **context, **leading(own), **spend
    ).allowed
    for keys in (other, ["cliente-a", "cliente-b"]):
        assert not decide(
            documents, "dynamodb:GetItem", BUDGETS, **context, **leading(keys)
        ).allowed
        assert not decide(
            documents, "dynamodb:UpdateItem", BUDGETS, **context, **leading(keys), **spend
        ).allowed
    # its own item only through the budget's attributes, and never returned or replaced
    assert not decide(
        documents,
        "dynamodb:UpdateItem",
        BUDGETS,
        **context,
        **leading(own),
        **{"dynamodb:Attributes": [*BUDGET_ATTRIBUTES, "client_name"]},
    ).allowed
    assert not decide(
        documents,
        "dynamodb:UpdateItem",
        BUDGETS,
        **context,
        **leading(own),
        **spend,
        **{"dynamodb:ReturnValues": "ALL_OLD"},
    ).allowed
    assert not decide(documents, "dynamodb:PutItem", BUDGETS, **context, **leading(own)).allowed


def test_the_transformer_has_no_budget() -> None:
    documents = identity_documents("TransformerTenantRole")
    context = {**tagged("cliente-a", "Transformer"), **leading(["cliente-a"])}
    assert not decide(documents, "dynamodb:GetItem", BUDGETS, **context).allowed


def test_the_budget_attributes_allowed_are_exactly_what_a_budget_writes() -> None:
    """Every UpdateItem a TableBudget makes names only attributes the tenant roles allow."""
    written: list[dict[str, Any]] = []

    class Recorder:
        def get_item(self, **arguments: Any) -> dict[str, Any]:
            return {}

        def update_item(self, **arguments: Any) -> dict[str, Any]:
            written.append(arguments)
            return {}

    budget = TableBudget("siesa-integration-budgets", "siesa", Rate(100, 60.0), dynamodb=Recorder())
    budget.acquire("cliente-a")
    budget.pause("cliente-a", 5.0)
    named: set[str] = set()
    for call in written:
        named |= attributes_named(call) | set(call["Key"])
        assert call.get("ReturnValues", "NONE") == "NONE"
    assert len(written) == 2 and named <= set(BUDGET_ATTRIBUTES)
    for stage in BUDGET_STAGES:
        allowed = allowed_attributes(stage, "SpendOwnRequestBudget")
        assert sorted(allowed) == sorted(BUDGET_ATTRIBUTES), stage


def test_only_the_extractor_keeps_a_dedup_index_and_only_its_clients() -> None:
    """The dedup index (runtime/stages/dedup_index.py): batch reads and puts of its own items."""
    documents = identity_documents("ExtractorTenantRole")
    context = tagged("cliente-a", "Extractor")
    put = {"dynamodb:Attributes": list(DEDUP_ATTRIBUTES)}
    own, other = ["cliente-a"], ["cliente-b"]
    assert decide(documents, "dynamodb:BatchGetItem", DEDUP, **context, **leading(own)).allowed
    assert decide(
        documents, "dynamodb:BatchWriteItem", DEDUP, **context, **leading(own), **put
    ).allowed
    for keys in (other, ["cliente-a", "cliente-b"]):
        for action in ("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"):
            assert not decide(documents, action, DEDUP, **context, **leading(keys), **put).allowed
    assert not decide(
        documents,
        "dynamodb:BatchWriteItem",
        DEDUP,
        **context,
        **leading(own),
        **{"dynamodb:Attributes": [*DEDUP_ATTRIBUTES, "record"]},
    ).allowed
    for action in ("dynamodb:Query", "dynamodb:Scan", "dynamodb:DeleteItem"):
        assert not decide(documents, action, DEDUP, **context, **leading(own)).allowed
    assert sorted(allowed_attributes("Extractor", "WriteOwnDedupIndex")) == sorted(DEDUP_ATTRIBUTES)
    for stage in ("Transformer", "Loader"):
        others = identity_documents(f"{stage}TenantRole")
        assert not decide(
            others, "dynamodb:BatchGetItem", DEDUP, **tagged("cliente-a", stage), **leading(own)
        ).allowed


def leading(keys: list[str]) -> dict[str, Any]:
    return {"dynamodb:LeadingKeys": keys}


# --- no tag, explicit deny ------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_a_session_without_the_tag_is_denied_everything_tenant_scoped(stage: str) -> None:
    documents = identity_documents(f"{stage}TenantRole")
    for client_id in ("cliente-a", "cliente-b"):
        for action, resource, keys in tenant_requests(client_id):
            decision = decide(documents, action, resource, **tagged(None, stage), **keys)
            assert decision is Decision.EXPLICIT_DENY, (action, resource)
    # an empty tag value is no way around it: it names no client's data
    for action, resource, keys in tenant_requests("cliente-a"):
        assert not decide(documents, action, resource, **tagged("", stage), **keys).allowed


@pytest.mark.parametrize("stage", STAGES)
def test_the_explicit_deny_wins_over_an_allow_added_later(stage: str) -> None:
    """A careless Allow of everything, added beside the role's policy, still gives an untagged session nothing."""
    careless = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    documents = [*identity_documents(f"{stage}TenantRole"), careless]
    for action, resource, keys in tenant_requests("cliente-a"):
        untagged = decide(documents, action, resource, **tagged(None, stage), **keys)
        assert untagged is Decision.EXPLICIT_DENY, (action, resource)
        assert decide(documents, action, resource, **tagged("cliente-a", stage), **keys).allowed


# --- the function roles: no tenant data --------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_the_function_roles_read_no_secret_no_run_data_no_client_item(stage: str) -> None:
    documents = identity_documents(f"{stage}Role")
    context = {"aws:PrincipalArn": role_arn(f"{stage}Role")}
    for client_id in ("cliente-a", "cliente-b"):
        for action, resource, keys in tenant_requests(client_id):
            assert not decide(documents, action, resource, **context, **keys).allowed, (
                stage,
                action,
                resource,
            )
    for action in ("dynamodb:Scan", "dynamodb:Query"):
        assert not decide(documents, action, CLIENTS, **context).allowed


def test_only_the_transformer_role_reads_the_bundle_and_verifies_it() -> None:
    key = get_att("MappingsSigningKey", "Arn")
    module = f"{BUCKET}/mappings/kong.py"
    for stage in STAGES:
        documents = identity_documents(f"{stage}Role")
        expected = stage == "Transformer"
        assert decide(documents, "s3:GetObject", module).allowed == expected, stage
        assert decide(documents, "kms:Verify", key).allowed == expected, stage
        assert not decide(documents, "s3:PutObject", module).allowed
        assert not decide(documents, "kms:Sign", key).allowed
        tenant = identity_documents(f"{stage}TenantRole")
        context = tagged("cliente-a", stage)
        assert not decide(tenant, "s3:GetObject", module, **context).allowed
        assert not decide(tenant, "kms:Verify", key, **context).allowed


# --- opening a tenant session -----------------------------------------------------------------

TAG = {"aws:RequestTag/client_id": "cliente-a", "aws:TagKeys": ["client_id"]}


def assume(documents: list[dict[str, Any]], principal: str, action: str, **context: Any) -> bool:
    request = Request(action, "role", context, principal=principal)
    return evaluate(request, documents).allowed


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_stages_function_role_may_open_its_tenant_sessions_and_only_tagged(
    stage: str,
) -> None:
    trust = [trust_document(f"{stage}TenantRole")]
    own = role_arn(f"{stage}Role")
    for action in ("sts:AssumeRole", "sts:TagSession"):
        assert assume(trust, own, action, **TAG)
        assert not assume(trust, own, action)  # no tag
        assert not assume(trust, own, action, **{"aws:TagKeys": ["client_id"]})
        extra = {**TAG, "aws:TagKeys": ["client_id", "admin"], "aws:RequestTag/admin": "x"}
        assert not assume(trust, own, action, **extra)
        for other in STAGES:
            if other != stage:
                assert not assume(trust, role_arn(f"{other}Role"), action, **TAG), other
        for stranger in (
            "lambda.amazonaws.com",
            f"arn:aws:iam::{ACCOUNT}:role/siesa-integration-stepfunctions-role",
            f"arn:aws:iam::{ACCOUNT}:root",
            role_arn(f"{stage}TenantRole"),
        ):
            assert not assume(trust, stranger, action, **TAG), stranger
    assert not assume(trust, own, "sts:AssumeRoleWithWebIdentity", **TAG)


@pytest.mark.parametrize("stage", STAGES)
def test_a_function_role_may_assume_only_its_own_tenant_role_and_only_tagged(stage: str) -> None:
    documents = identity_documents(f"{stage}Role")
    for other in STAGES:
        target = role_arn(f"{other}TenantRole")
        for action in ("sts:AssumeRole", "sts:TagSession"):
            tagged_allowed = decide(documents, action, target, **TAG).allowed
            assert tagged_allowed == (other == stage), (stage, other, action)
            assert not decide(documents, action, target).allowed
    assert not decide(documents, "sts:AssumeRole", role_arn("StepFunctionsRole"), **TAG).allowed


@pytest.mark.parametrize("stage", STAGES)
def test_each_function_is_told_its_own_tenant_role(stage: str) -> None:
    variables = RESOURCES[f"{stage}Function"]["Properties"]["Environment"]["Variables"]
    names = {name for name in variables if name.endswith("_TENANT_ROLE_ARN")}
    assert names == {settings.tenant_role_env(stage.lower())}
    assert variables[settings.tenant_role_env(stage.lower())] == {
        "Fn::GetAtt": [f"{stage}TenantRole", "Arn"]
    }


# --- the workflow's own writes ---------------------------------------------------------------


def _workflow_updates() -> list[dict[str, Any]]:
    """The workflow definition's DynamoDB updateItem states' parameters."""
    definition = json.loads(DEFINITION_PATH.read_text(encoding="utf-8"))
    return [
        state["Parameters"]
        for state in definition["States"].values()
        if state.get("Resource") == "arn:aws:states:::dynamodb:updateItem"
    ]


def test_the_workflow_role_writes_only_what_its_states_write() -> None:
    """LogSuccess / LogFailure record the sync status; the role could not repoint a client."""
    documents = identity_documents("StepFunctionsRole")
    updates = _workflow_updates()
    assert updates, "the workflow records the sync status itself"
    for parameters in updates:
        expressions = f"{parameters['UpdateExpression']} {parameters['ConditionExpression']}"
        named = set(re.findall(r"(?<![:#\w])([A-Za-z_]+)", expressions)) - KEYWORDS
        attributes = sorted(named | {"client_id"})
        assert decide(
            documents, "dynamodb:UpdateItem", CLIENTS, **{"dynamodb:Attributes": attributes}
        ).allowed, attributes
    for attribute in ("siesa_api_url", "product_api_url", "enabled", "last_sync_watermark"):
        keys = {"dynamodb:Attributes": ["client_id", "last_sync_status", attribute]}
        assert not decide(documents, "dynamodb:UpdateItem", CLIENTS, **keys).allowed, attribute
    keys = {"dynamodb:Attributes": ["last_sync_status"], "dynamodb:ReturnValues": "ALL_OLD"}
    assert not decide(documents, "dynamodb:UpdateItem", CLIENTS, **keys).allowed


# --- the run lease ------------------------------------------------------------------------------

LEASE_ATTRIBUTES = ["client_id", *config_store.LEASE_ATTRIBUTES]


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_extractor_holds_its_own_clients_run_lease(stage: str) -> None:
    """The lease attributes of cliente-a: the extractor's session tagged cliente-a only."""
    documents = identity_documents(f"{stage}TenantRole")

    def update(client_id: str, tag: str | None, attributes: list[str], **more: Any) -> bool:
        keys = {
            **tagged(tag, stage),
            "dynamodb:LeadingKeys": [client_id],
            "dynamodb:Attributes": attributes,
            **more,
        }
        return decide(documents, "dynamodb:UpdateItem", CLIENTS, **keys).allowed

    assert update("cliente-a", "cliente-a", LEASE_ATTRIBUTES) == (stage == "Extractor")
    for other in ("cliente-b", "cliente-ab", "cliente-"):
        assert not update(other, "cliente-a", LEASE_ATTRIBUTES), other
    assert not update("cliente-a", None, LEASE_ATTRIBUTES)
    # the lease statement opens no other attribute, nor old values
    for attribute in ("siesa_api_url", "enabled", "field_mappings_key", "last_sync_watermark"):
        assert not update("cliente-a", "cliente-a", [*LEASE_ATTRIBUTES, attribute]), attribute
    assert not update(
        "cliente-a", "cliente-a", LEASE_ATTRIBUTES, **{"dynamodb:ReturnValues": "ALL_OLD"}
    )


def test_the_lease_attributes_are_exactly_what_run_lease_writes_and_each_write_is_conditional() -> (
    None
):
    from runtime.run_lease import Holder, RunLease

    recorder = Recorder()
    written = recorder.written
    lease = RunLease("siesa-integration-clients", dynamodb=recorder, now=lambda: 1.0e9)
    lease.take("cliente-a", "arn:execution", RUN)
    lease.take("cliente-a", "arn:execution", RUN, replacing="arn:old")
    lease.note_skip("cliente-a", Holder("arn:old", RUN, 2.0e9))
    named: set[str] = set()
    for call in written:
        assert call["ConditionExpression"], call  # IAM cannot require it: the code does
        assert call.get("ReturnValues", "NONE") == "NONE"
        expressions = f"{call['UpdateExpression']} {call['ConditionExpression']}"
        named |= set(re.findall(r"(?<![:#\w])([A-Za-z_]+)", expressions)) - KEYWORDS
    named -= {"if_not_exists"}
    (statement,) = [
        s
        for document in identity_documents("ExtractorTenantRole")
        for s in document["Statement"]
        if s.get("Sid") == "HoldOwnRunLease"
    ]
    allowed = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
    assert sorted(allowed) == sorted(named | {"client_id"}) == sorted(LEASE_ATTRIBUTES)


def test_the_extractor_function_role_sees_only_the_workflows_executions() -> None:
    documents = identity_documents("ExtractorRole")
    execution = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:siesa-integration-workflow:x-1"
    assert decide(documents, "states:DescribeExecution", execution).allowed
    other = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:another-machine:x-1"
    assert not decide(documents, "states:DescribeExecution", other).allowed
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:siesa-integration-workflow"
    for action in ("states:StartExecution", "states:StopExecution", "states:GetExecutionHistory"):
        assert not decide(documents, action, machine).allowed, action
        assert not decide(documents, action, execution).allowed, action
