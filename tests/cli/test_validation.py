"""What `siesa client add` checks before touching AWS, and how it says so."""

from __future__ import annotations

import json
from typing import Any

import pytest

import ops
from ops.validation import check_schedule

CONFIG: dict[str, Any] = {
    "client_id": "cliente-v",
    "client_name": "Empresa V",
    "product_type": "kong",
    "siesa_api_url": "https://cliente-v.siesa.com/api/v1",
    "product_api_url": "https://cliente-v.kong.com/api/v1",
}
SIESA: dict[str, Any] = {"api_key": "siesa-secret-value-1"}
KONG: dict[str, Any] = {
    "product_type": "kong",
    "api_url": "https://cliente-v.kong.com/api/v1",
    "api_key": "kong-secret-value-2",
}


@pytest.mark.parametrize(
    "expression", ["rate(1 hour)", "rate(6 hours)", "rate(1 day)", "cron(0 */6 * * ? *)"]
)
def test_schedules_eventbridge_takes(expression: str) -> None:
    assert check_schedule(expression) == expression


@pytest.mark.parametrize(
    ("expression", "hint"),
    [
        ("rate(1 hours)", "'rate(1 hour)'"),
        ("rate(6 hour)", "'rate(6 hours)'"),
        ("rate(0 minutes)", "at least 1"),
        ("cron(0 */6 * * *)", "6 fields"),
    ],
)
def test_schedules_eventbridge_refuses(expression: str, hint: str) -> None:
    with pytest.raises(ops.InputError, match="field 'sync_schedule'") as raised:
        check_schedule(expression)
    assert hint in str(raised.value)


def test_defaults_come_from_the_client_id_and_product() -> None:
    new = ops.check_new_client(json.dumps(CONFIG), json.dumps(SIESA), json.dumps(KONG))
    assert new.config.siesa_credentials_secret == "siesa-integration/cliente-v/siesa"
    assert new.config.field_mappings_key == "kong"
    assert new.config.sync_schedule == "rate(6 hours)"
    assert new.product_credentials == KONG


@pytest.mark.parametrize(
    ("config", "siesa", "kong", "expected"),
    [
        ({"client_id": "x" * 38}, {}, {}, "at most 37 characters"),
        ({"client_id": "Cliente_V"}, {}, {}, "field 'client_id'"),
        ({"created_at": "2025-01-01T00:00:00Z"}, {}, {}, "leave created_at out"),
        (
            {
                "siesa_dialect": "connekta",
                "connekta": {"query": "items", "id_compania": 1, "company_code": 1},
            },
            {},
            {},
            "key 'conni_key': missing",
        ),
        ({}, {"api_url": "https://other.siesa.com/api"}, {}, "differs from the client config"),
        ({}, {}, {"api_key": "   "}, "key 'api_key': must not have whitespace"),
        ({}, {}, {"service_endpoints": {"inventory": "http://wms.example"}}, "https URL"),
    ],
)
def test_bad_documents_are_refused_by_name(
    config: dict[str, Any], siesa: dict[str, Any], kong: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ops.InputError) as raised:
        ops.check_new_client({**CONFIG, **config}, {**SIESA, **siesa}, {**KONG, **kong})
    message = str(raised.value)
    assert expected in message
    assert "siesa-secret-value-1" not in message and "kong-secret-value-2" not in message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("[1, 2]", "must be a JSON object, not an array"),
        ('{"api_key": "kong-secret-value-2",', "is not valid JSON"),
        (b"\xc3\x28", "is not UTF-8 text"),
    ],
)
def test_credentials_that_do_not_parse_are_not_echoed(document: str | bytes, expected: str) -> None:
    with pytest.raises(ops.InputError, match="product credentials") as raised:
        ops.check_new_client(CONFIG, SIESA, document)
    assert expected in str(raised.value)
    assert "kong-secret-value-2" not in str(raised.value)
