"""Only operators stamp a client's credentials: no tenant role may write `credentials_version`.

`siesa client set-credentials` writes the secret and stamps the client item;
the handlers compare the stamp with the one their cached secret was read under
(runtime/secrets.py). A tenant session (which a compromised function can open
for any client) that could rewrite the stamp could not read a secret it may not
read, but could make every run of the client re-read its secrets or keep a
stale one: so the stamp, like the schedules, is the operator's alone. Evaluated
on the template's own documents (policy_eval.py).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from policy_eval import Request, evaluate
from template_values import get_att, identity_documents, role_arn

from runtime.config_store import ConfigStore
from runtime.errors import InvalidClientConfig

STAGES = ("Extractor", "Transformer", "Loader")
CLIENTS = get_att("ClientsTable", "Arn")
KEYWORDS = {"SET", "REMOVE", "AND", "OR", "NOT", "attribute_exists", "attribute_not_exists"}


def _stamp_attributes() -> set[str]:
    """The attributes `stamp_credentials` writes, read from ConfigStore's own request."""
    calls: list[dict[str, Any]] = []

    class Recorder:
        def update_item(self, **arguments: Any) -> dict[str, Any]:
            calls.append(arguments)
            return {"Attributes": {}}

    store = ConfigStore("siesa-integration-clients", dynamodb=Recorder())
    with contextlib.suppress(InvalidClientConfig):  # the recorder's answer holds no item
        store.stamp_credentials("cliente-a", "product:v2")
    (call,) = calls
    expression = f"{call['UpdateExpression']} {call['ConditionExpression']}"
    return set(re.findall(r"(?<![:#\w])([A-Za-z_]+)", expression)) - KEYWORDS


@pytest.mark.parametrize("stage", STAGES)
def test_a_tenant_session_cannot_stamp_its_clients_credentials(stage: str) -> None:
    written = _stamp_attributes()
    assert "credentials_version" in written
    documents = identity_documents(f"{stage}TenantRole")
    context = {
        "aws:PrincipalArn": role_arn(f"{stage}TenantRole"),
        "aws:PrincipalTag/client_id": "cliente-a",
        "dynamodb:LeadingKeys": ["cliente-a"],
    }
    for attributes in (sorted(written), ["client_id", "credentials_version"]):
        request = Request(
            "dynamodb:UpdateItem", CLIENTS, {**context, "dynamodb:Attributes": attributes}
        )
        assert not evaluate(request, documents).allowed, (stage, attributes)
    for schedule in ("sync_schedule", "stock_schedule"):
        request = Request(
            "dynamodb:UpdateItem",
            CLIENTS,
            {**context, "dynamodb:Attributes": ["client_id", schedule, "updated_at"]},
        )
        assert not evaluate(request, documents).allowed, (stage, schedule)
