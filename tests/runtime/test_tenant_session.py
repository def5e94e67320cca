"""Tenant sessions: assumed once per client and stage, tagged client_id, renewed before expiry.

moto's STS answers AssumeRole as AWS does (with session tags) and accepts the
credentials it returns; moto enforces no IAM (tests/infra evaluates the policies).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from runtime import aws as aws_clients
from runtime import settings, tenant_session
from runtime.errors import TenantRoleNotConfigured, TenantSessionRefused
from runtime.handlers import extractor, loader, transformer
from runtime.handlers.deps import Deps

EVENTS = Path(__file__).resolve().parents[1] / "events"
STAGES = ("extractor", "transformer", "loader")
HANDLERS = {
    "extractor": (extractor.lambda_handler, "extractor_initial.json"),
    "transformer": (transformer.lambda_handler, "transformer_input.json"),
    "loader": (loader.lambda_handler, "loader_input.json"),
}


@pytest.fixture(autouse=True)
def _fresh_sessions() -> Any:
    tenant_session.reset()
    yield
    tenant_session.reset()


def tenant_role(aws: Any, stage: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A role for the stage's tenant sessions in moto, named in the stage's variable."""
    iam = aws_clients.client("iam")
    trust = {"Version": "2012-10-17", "Statement": []}
    role = iam.create_role(
        RoleName=f"siesa-integration-{stage}-tenant-role",
        AssumeRolePolicyDocument=json.dumps(trust),
    )["Role"]["Arn"]
    monkeypatch.setenv(settings.tenant_role_env(stage), role)
    return str(role)


def assume_calls() -> list[dict[str, Any]]:
    """Every AssumeRole the runtime's STS client makes from now on, with its parameters."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    aws_clients.client("sts").meta.events.register("provide-client-params.sts.AssumeRole", record)
    return calls


def identity(client: Any) -> str:
    return str(client.get_caller_identity()["Arn"])


# --- fail closed on AWS -----------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("environment", ["test", "prod"])
def test_on_aws_a_handler_without_its_tenant_role_refuses_to_run(
    aws: Any, monkeypatch: pytest.MonkeyPatch, stage: str, environment: str
) -> None:
    """Before anything is read: the client does not even exist, and that is not what stops it."""
    monkeypatch.setenv("ENVIRONMENT", environment)
    handler, event_file = HANDLERS[stage]
    event = json.loads((EVENTS / event_file).read_text(encoding="utf-8"))
    with pytest.raises(TenantRoleNotConfigured, match=settings.tenant_role_env(stage)):
        handler(event, None)
    assert aws.dynamodb.scan(TableName=settings.runs_table())["Items"] == []


def test_another_stages_role_does_not_count(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant_role(aws, "loader", monkeypatch)
    monkeypatch.setenv("ENVIRONMENT", "prod")
    with pytest.raises(TenantRoleNotConfigured):
        tenant_session.session_for("extractor", "cliente-a")
    assert tenant_session.session_for("loader", "cliente-a") is not None


def test_the_local_engine_without_a_stack_uses_the_ambient_session(aws: Any) -> None:
    deps = Deps()
    assert tenant_session.session_for("extractor", "cliente-a") is None
    assert deps.for_client("extractor", "cliente-a") is deps


# --- the session -----------------------------------------------------------------------------


def test_a_session_is_assumed_once_tagged_client_id_and_named_after_client_and_stage(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = tenant_role(aws, "extractor", monkeypatch)
    calls = assume_calls()
    session = tenant_session.session_for("extractor", "cliente-a")
    assert session is not None
    s3, again, dynamodb = session.client("s3"), session.client("s3"), session.client("dynamodb")
    assert s3 is again and dynamodb is not s3
    assert [(call["RoleArn"], call["RoleSessionName"], call["Tags"]) for call in calls] == [
        (role, "cliente-a@extractor", [{"Key": "client_id", "Value": "cliente-a"}])
    ]
    assert identity(session.client("sts")).endswith(
        ":assumed-role/siesa-integration-extractor-tenant-role/cliente-a@extractor"
    )
    assert identity(aws_clients.client("sts")) != identity(session.client("sts"))


def test_each_client_and_each_stage_has_a_session_of_its_own(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for stage in ("extractor", "loader"):
        tenant_role(aws, stage, monkeypatch)
    keys = set()
    for stage, client_id in (
        ("extractor", "cliente-a"),
        ("extractor", "cliente-b"),
        ("loader", "cliente-a"),
    ):
        session = tenant_session.session_for(stage, client_id)
        assert session is not None
        keys.add(session.credentials().access_key_id)
        assert identity(session.client("sts")).endswith(f"/{client_id}@{stage}")
    assert len(keys) == 3


def test_credentials_are_renewed_shortly_before_they_expire_and_their_clients_dropped(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_role(aws, "loader", monkeypatch)
    calls = assume_calls()
    session = tenant_session.session_for("loader", "cliente-a")
    assert session is not None
    first = session.client("secretsmanager")
    assert session.client("secretsmanager") is first and len(calls) == 1
    # an hour's credentials are "about to expire" when the margin is longer than an hour
    monkeypatch.setattr(tenant_session, "REFRESH_MARGIN_SECONDS", 2 * 3600)
    second = session.client("secretsmanager")
    assert len(calls) == 2 and second is not first
    assert first not in aws_clients._clients.values()


def test_a_refused_session_is_a_named_error(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant_role(aws, "transformer", monkeypatch)

    def refuse(params: dict[str, Any], **_: Any) -> None:
        error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
        raise ClientError(error, "AssumeRole")

    aws_clients.client("sts").meta.events.register("provide-client-params.sts.AssumeRole", refuse)
    try:
        session = tenant_session.session_for("transformer", "cliente-a")
        assert session is not None
        with pytest.raises(TenantSessionRefused, match=r"cliente-a.*AccessDenied"):
            session.client("s3")
    finally:
        aws_clients.client("sts").meta.events.unregister(
            "provide-client-params.sts.AssumeRole", refuse
        )


def test_for_client_puts_every_store_and_secret_on_the_tenant_session(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_role(aws, "loader", monkeypatch)
    deps = Deps().for_client("loader", "cliente-a")
    assert deps.tenant is not None
    tenant = deps.tenant
    assert deps.configs.dynamodb is tenant.client("dynamodb")
    assert deps.history.dynamodb is tenant.client("dynamodb")
    assert deps.sync.configs.dynamodb is tenant.client("dynamodb")
    assert deps.run_store().s3 is tenant.client("s3")
    assert deps.client("secretsmanager") is tenant.client("secretsmanager")
    assert deps.bundles.s3 is aws_clients.client("s3")  # the bundle is the function role's


def test_the_tenant_secret_key_is_scrubbed_from_logs(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtime.observability import redact

    tenant_role(aws, "extractor", monkeypatch)
    session = tenant_session.session_for("extractor", "cliente-a")
    assert session is not None
    secret = session.credentials().secret_access_key
    assert secret not in redact(f"signed with {secret}")
    assert secret not in repr(session.credentials())
