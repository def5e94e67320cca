"""`siesa client add` refuses unsafe API URLs and unplain credentials before anything is written.

Outside the local engine (ENVIRONMENT test or prod) an API URL must be https
to a public host with no user info, query or fragment (runtime.api_url). The
endpoint given points at nothing: a refusal that reached AWS would show as a
connection error instead of the field's name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.app import app

CONFIG: dict[str, Any] = {
    "client_id": "cliente-t",
    "client_name": "Empresa T",
    "product_type": "kong",
    "siesa_api_url": "https://cliente-t.siesa.com/api/v1",
    "product_api_url": "https://cliente-t.kong.com/api/v1",
}
SIESA_KEY = "siesa-secret-value-7f3a"
SIESA: dict[str, Any] = {"api_key": SIESA_KEY}
KONG: dict[str, Any] = {
    "product_type": "kong",
    "api_url": "https://cliente-t.kong.com/api/v1",
    "api_key": "kong-secret-value-9c1d",
}
NOTHING_LISTENS = "http://127.0.0.1:9"


def _add(folder: Path, config: dict[str, Any], siesa: dict[str, Any], kong: dict[str, Any]) -> Any:
    paths = []
    for name, document in (("client", config), ("siesa", siesa), ("kong", kong)):
        path = folder / f"{name}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(str(path))
    return CliRunner().invoke(
        app,
        [
            *("client", "add", "--config", paths[0], "--siesa-credentials", paths[1]),
            *("--product-credentials", paths[2], "--endpoint-url", NOTHING_LISTENS),
        ],
    )


@pytest.mark.parametrize("environment", ["test", "prod"])
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://169.254.169.254/", "instance metadata address"),
        ("https://[fd00:ec2::254]/", "instance metadata address"),
        ("https://10.0.0.1/", "private address"),
        ("https://user:pw@host.example.com/", "user name or password"),
        ("https://host.example.com/x#y", "fragment"),
        ("https://host.example.com/x?page=9", "query"),
        ("https://127.0.0.1/", "loopback address"),
        ("http://127.0.0.1:8080/api", "https URL"),
        ("https://2852039166/", "numeric host"),
    ],
)
def test_client_add_refuses_an_unsafe_siesa_url_outside_the_local_engine(
    environment: str,
    url: str,
    reason: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", environment)
    result = _add(tmp_path, {**CONFIG, "siesa_api_url": url}, SIESA, KONG)
    assert result.exit_code == 1
    assert "field 'siesa_api_url'" in result.stderr and reason in result.stderr
    assert "pw@" not in result.stderr and "Cannot connect" not in result.stderr


def test_client_add_refuses_an_unsafe_product_url_and_service_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prod")
    metadata = "https://169.254.169.254/latest"
    refused = _add(tmp_path, {**CONFIG, "product_api_url": metadata}, SIESA, KONG)
    assert refused.exit_code == 1 and "field 'product_api_url'" in refused.stderr
    endpoints = {**KONG, "service_endpoints": {"inventory": "https://10.1.2.3/inv"}}
    refused = _add(tmp_path, CONFIG, SIESA, endpoints)
    assert refused.exit_code == 1
    assert "key 'service_endpoints'" in refused.stderr and "private address" in refused.stderr


def test_the_local_engine_may_use_http_on_loopback_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "local")
    loopback = {**CONFIG, "siesa_api_url": "http://127.0.0.1:8080/api/v1"}
    passed = _add(tmp_path, loopback, SIESA, KONG)
    # validation passed: the command went on to the (absent) AWS endpoint
    assert "siesa_api_url" not in passed.stderr
    lan = _add(tmp_path, {**CONFIG, "siesa_api_url": "http://10.0.0.1/api"}, SIESA, KONG)
    assert lan.exit_code == 1 and "https URL" in lan.stderr


@pytest.mark.parametrize("pasted", [SIESA_KEY + "\n", " " + SIESA_KEY, SIESA_KEY + "\x1b[0m"])
def test_client_add_refuses_a_key_with_whitespace_or_control_characters_by_name(
    pasted: str, tmp_path: Path
) -> None:
    result = _add(tmp_path, CONFIG, {"api_key": pasted}, KONG)
    assert result.exit_code == 1
    assert "key 'api_key'" in result.stderr
    assert SIESA_KEY not in result.stdout + result.stderr


def test_client_add_refuses_unknown_keys_in_credentials(tmp_path: Path) -> None:
    result = _add(tmp_path, CONFIG, {**SIESA, "api_secret": "stray-secret-value-11"}, KONG)
    assert result.exit_code == 1
    assert "key 'api_secret'" in result.stderr
    assert "stray-secret-value-11" not in result.stdout + result.stderr


def test_service_endpoints_stay_in_the_api_urls_host_family(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "local")
    loopback = {**CONFIG, "product_api_url": "http://127.0.0.1:8081/api/v1"}
    public = {"inventory": "https://inventory.example.com/api/v1"}
    wms = {**KONG, "api_url": "http://127.0.0.1:8081/api/v1", "service_endpoints": public}
    refused = _add(tmp_path, loopback, SIESA, wms)
    assert refused.exit_code == 1
    assert "key 'service_endpoints.inventory': must name a loopback host" in refused.stderr
    plain = {**KONG, "service_endpoints": {"inventory": "http://127.0.0.1:8082/inv"}}
    refused = _add(tmp_path, CONFIG, SIESA, plain)
    assert refused.exit_code == 1
    assert "key 'service_endpoints.inventory': must name a public host" in refused.stderr
