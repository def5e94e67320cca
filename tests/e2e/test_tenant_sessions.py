"""The handlers reach each client's data only through that client's tenant session (docs/security.md, row 9).

A botocore hook on every client of the process (tenant_guard.py) fails any call
on a secret, `runs/` or a client or run item that is signed with the
function's own credentials, or by another client's session. A Kong client and
a WMS client sync end to end with it on; the control shows it does fire when
the ambient credentials are used.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime import settings
from runtime.config_store import ConfigStore
from runtime.errors import ClientNotFound

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from e2e_support import E2eEngine, kong_client, wms_client, worlds
from tenant_guard import TenantGuard, TenantGuardViolation, guarding

STAGES = ("extractor", "transformer", "loader")


@pytest.fixture
def guard(engine: E2eEngine) -> Iterator[TenantGuard]:
    outputs = engine.provisioned.outputs
    tables = {outputs["ClientsTableName"], outputs["RunsTableName"], outputs["BudgetsTableName"]}
    with guarding(outputs["ConfigBucketName"], tables) as installed:
        yield installed


def test_a_kong_and_a_wms_sync_reach_tenant_data_only_through_their_own_sessions(
    engine: E2eEngine, guard: TenantGuard
) -> None:
    clients = ("tenant-kong", "tenant-wms")
    with worlds(kong_client(clients[0]), wms_client(clients[1])) as running:
        for world in running.values():
            engine.add(world)
        outcomes = {client_id: engine.sync(client_id) for client_id in clients}
    for client_id, outcome in outcomes.items():
        # the worlds' catalogs hold one record the mapping rejects: partial, every other loaded
        assert outcome.status in ("success", "partial"), (client_id, outcome.error, outcome.cause)
        assert outcome.summary is not None and outcome.summary["records_success"] > 50
    assert guard.violations == []
    assert guard.checked[("secretsmanager", "function")] == 0
    for service in ("secretsmanager", "s3", "dynamodb"):
        assert guard.checked[(service, "tenant")] > 0, service
        assert guard.checked[(service, "function")] == 0, service
    # every stage opened a session of its own tenant role for each client
    roles = {settings.tenant_role_arn(stage) for stage in STAGES}
    assert {session for session in guard.sessions.values()} == {
        (client_id, role) for client_id in clients for role in roles
    }


def test_the_guard_fires_on_tenant_data_read_with_the_ambient_credentials(
    engine: E2eEngine, guard: TenantGuard
) -> None:
    """The control: the runtime's own store on the function's credentials is stopped and recorded."""
    with pytest.raises(TenantGuardViolation):
        ConfigStore().get("tenant-kong")
    assert guard.violations == [
        "dynamodb:GetItem on 'tenant-kong''s data with the function's own credentials"
    ]


def test_a_sync_whose_handlers_fall_back_to_the_ambient_session_is_stopped(
    engine: E2eEngine, guard: TenantGuard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the tenant roles unset (what the local engine without them would do), the hook fires."""
    for stage in STAGES:
        monkeypatch.delenv(settings.tenant_role_env(stage))
    with worlds(kong_client("tenant-ambient")) as running:
        engine.add(running["tenant-ambient"])
        outcome = engine.sync("tenant-ambient")
    assert outcome.status == "failed"
    assert "TenantGuardViolation" in f"{outcome.error} {outcome.cause}"
    assert guard.violations and all("function's own credentials" in v for v in guard.violations)


def test_a_session_reaches_no_other_clients_data_under_the_guard(
    engine: E2eEngine, guard: TenantGuard
) -> None:
    """The guard also refuses a session of one client touching another's (what IAM denies on AWS)."""
    from runtime import tenant_session

    session = tenant_session.session_for("extractor", "tenant-one")
    assert session is not None
    store = ConfigStore(dynamodb=session.client("dynamodb"))
    with pytest.raises(ClientNotFound):
        store.get("tenant-one")  # its own item: allowed (and absent)
    with pytest.raises(TenantGuardViolation):
        store.get("tenant-two")
    assert guard.violations == [
        "dynamodb:GetItem on 'tenant-two''s data in the session of 'tenant-one'"
    ]
