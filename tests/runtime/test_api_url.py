"""The API URL rules (runtime.api_url) and the config models that apply them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from runtime.api_url import check_api_url, host_problem
from runtime.config import ClientConfig, ProductCredentials

REFUSED_ON_AWS = [
    "https://169.254.169.254/",
    "https://169.254.169.254./latest/meta-data",
    "https://[fd00:ec2::254]/",
    "https://[::ffff:169.254.169.254]/",
    "https://10.0.0.1/",
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",
    "https://127.0.0.1/",
    "https://localhost/",
    "https://api.localhost/",
    "https://[::1]/",
    "https://[fe80::1]/",
    "https://0.0.0.0/",
    "https://2852039166/",
    "https://0xa9fea9fe/",
    "https://169.254.43518/",
    "https://user:pw@api.example.com/",
    "https://user@api.example.com/",
    "https://api.example.com/x#y",
    "https://api.example.com/x#",
    "https://api.example.com/x?y=1",
    "https://api.example.com/x?",
    "http://api.example.com/",
    "http://127.0.0.1:8080/",
    "ftp://api.example.com/",
    "https:///path",
    "https://api.example.com:port/",
    "https://api.example.com/\napi",
    "https://api.example.com\\@evil.example/",
]


@pytest.mark.parametrize("url", REFUSED_ON_AWS)
def test_aws_refuses(url: str) -> None:
    with pytest.raises(ValueError):
        check_api_url(url, local=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.siesa.com/api/v1/",
        "https://cliente-a.kong.com:8443/api/v1",
        "https://8.8.8.8/",
        "https://[2606:4700::1111]/x",
    ],
)
def test_aws_takes_public_https(url: str) -> None:
    assert check_api_url(url, local=False) == url.rstrip("/")


def test_the_local_engine_takes_http_only_to_loopback() -> None:
    assert (
        check_api_url("http://127.0.0.1:5001/api/v1/", local=True) == "http://127.0.0.1:5001/api/v1"
    )
    assert check_api_url("http://localhost:5001", local=True) == "http://localhost:5001"
    for url in ("http://10.0.0.1/", "http://api.example.com/", "https://u:p@127.0.0.1/"):
        with pytest.raises(ValueError):
            check_api_url(url, local=True)


def test_the_environment_decides_when_not_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "local")
    assert check_api_url("http://127.0.0.1:9/") == "http://127.0.0.1:9"
    for environment in ("test", "prod"):
        monkeypatch.setenv("ENVIRONMENT", environment)
        with pytest.raises(ValueError):
            check_api_url("http://127.0.0.1:9/")


def test_host_problem_names_the_metadata_address() -> None:
    assert host_problem("169.254.169.254") == "the instance metadata address"
    assert host_problem("fd00:ec2::254") == "the instance metadata address"
    assert host_problem("api.example.com") is None


def test_a_config_read_on_aws_refuses_a_url_an_attacker_wrote_into_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The item is validated on every read too: a changed siesa_api_url never gets a token."""
    monkeypatch.setenv("ENVIRONMENT", "prod")
    item = {
        "client_id": "cliente-a",
        "client_name": "A",
        "product_type": "kong",
        "siesa_api_url": "https://169.254.169.254/latest",
        "product_api_url": "https://kong.example.com",
    }
    with pytest.raises(ValidationError, match="siesa_api_url"):
        ClientConfig.model_validate(item)


def test_product_credentials_check_their_urls_and_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prod")
    good = {"product_type": "wms", "api_url": "https://wms.example.com", "api_key": "k-123456"}
    ProductCredentials.model_validate(good)
    for bad, where in (
        ({"service_endpoints": {"inventory": "https://10.0.0.2/"}}, "service_endpoints"),
        ({"api_url": "https://wms.example.com/#x"}, "api_url"),
        ({"additional_config": {"token": "t-123456\n"}}, "additional_config"),
        ({"surprise": "value"}, "surprise"),
    ):
        with pytest.raises(ValidationError, match=where) as caught:
            ProductCredentials.model_validate({**good, **bad})
        assert "t-123456" not in str(caught.value.errors(include_input=False))
