"""Credentials from moto's Secrets Manager: parsing, refusals that never show the value, the TTL cache."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime import observability, secrets
from runtime.config_store import validate_config
from runtime.errors import InvalidClientConfig, InvalidSecret
from runtime.secrets import get_product_credentials, get_siesa_credentials, secret_name

CANARY = "canary-7f3e9a1b55"


def _config(**overrides: Any) -> Any:
    values = {
        "client_id": "cliente-a",
        "client_name": "A",
        "product_type": "kong",
        "siesa_api_url": "https://a.siesa.com/api/v1",
        "product_api_url": "https://a.kong.com/api/v1",
    }
    values.update(overrides)
    return validate_config(values)


def test_siesa_and_product_credentials_parse(aws: Any) -> None:
    aws.put_secret(
        "cliente-a", "siesa", {"api_url": "https://a.siesa.com", "api_key": "sk-1", "username": "u"}
    )
    aws.put_secret(
        "cliente-a",
        "kong",
        {
            "product_type": "kong",
            "api_url": "https://a.kong.com/api/v1",
            "api_key": "kk-1",
            "tenant_id": "a",
            "additional_config": {"rfid_enabled": True},
        },
    )
    siesa = get_siesa_credentials(_config())
    product = get_product_credentials(_config())
    assert siesa.api_key is not None and siesa.api_key.get_secret_value() == "sk-1"
    assert product.api_key.get_secret_value() == "kk-1"
    assert product.additional_config == {"rfid_enabled": True}
    assert "kk-1" not in repr(product) and "sk-1" not in repr(siesa)


def test_missing_secret_names_it(aws: Any) -> None:
    with pytest.raises(InvalidSecret, match=r"'siesa-integration/cliente-a/siesa' does not exist"):
        get_siesa_credentials(_config())


def test_bad_json_names_the_secret_and_never_the_value(aws: Any) -> None:
    aws.put_secret("cliente-a", "siesa", '{"api_key": "' + CANARY + '", oops}')
    with pytest.raises(InvalidSecret) as caught:
        get_siesa_credentials(_config())
    text = str(caught.value)
    assert "siesa-integration/cliente-a/siesa" in text and "not valid JSON" in text
    assert CANARY not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_json_array_is_not_a_secret(aws: Any) -> None:
    aws.put_secret("cliente-a", "siesa", json.dumps([CANARY]))
    with pytest.raises(InvalidSecret, match="must be a JSON object") as caught:
        get_siesa_credentials(_config())
    assert CANARY not in str(caught.value)


def test_missing_key_is_named(aws: Any) -> None:
    aws.put_secret(
        "cliente-a",
        "kong",
        {"product_type": "kong", "api_url": "https://a.kong.com", "tenant_id": CANARY},
    )
    with pytest.raises(InvalidSecret) as caught:
        get_product_credentials(_config())
    text = str(caught.value)
    assert "siesa-integration/cliente-a/kong" in text and "key 'api_key': missing" in text
    assert CANARY not in text


def test_invalid_value_is_reported_without_echoing_it(aws: Any) -> None:
    bad_url = f"ftp://{CANARY}.example"
    aws.put_secret(
        "cliente-a", "kong", {"product_type": "kong", "api_url": bad_url, "api_key": CANARY}
    )
    with pytest.raises(InvalidSecret, match="key 'api_url'") as caught:
        get_product_credentials(_config())
    assert CANARY not in str(caught.value)


def test_siesa_secret_needs_the_dialects_keys(aws: Any) -> None:
    aws.put_secret("cliente-a", "siesa", {"api_key": CANARY})
    with pytest.raises(InvalidSecret, match="key 'conni_key': missing") as caught:
        # model_copy: the dialect is all the secret check reads (a Connekta config has more to it)
        get_siesa_credentials(_config().model_copy(update={"siesa_dialect": "connekta"}))
    assert CANARY not in str(caught.value)
    aws.put_secret("cliente-a", "siesa", {"password": CANARY})
    secrets.clear_cache()
    with pytest.raises(InvalidSecret, match="key 'api_key': missing"):
        get_siesa_credentials(_config())


def test_product_secret_must_be_for_the_clients_product(aws: Any) -> None:
    aws.put_secret(
        "cliente-a",
        "kong",
        {"product_type": "wms", "api_url": "https://a.wms.com", "api_key": CANARY},
    )
    with pytest.raises(InvalidSecret, match="key 'product_type'") as caught:
        get_product_credentials(_config())
    assert CANARY not in str(caught.value)


def test_values_are_cached_per_container(aws: Any) -> None:
    config = _config()
    aws.put_secret("cliente-a", "siesa", {"api_key": "first"})
    assert get_siesa_credentials(config).api_key.get_secret_value() == "first"  # type: ignore[union-attr]
    aws.put_secret("cliente-a", "siesa", {"api_key": "second"})
    assert get_siesa_credentials(config).api_key.get_secret_value() == "first"  # type: ignore[union-attr]
    secrets.clear_cache()
    assert get_siesa_credentials(config).api_key.get_secret_value() == "second"  # type: ignore[union-attr]


def test_a_new_credentials_version_reads_the_secret_again_at_once(aws: Any) -> None:
    aws.put_secret("cliente-a", "siesa", {"api_key": "first"})
    stamped = _config(credentials_version="siesa:v1")
    assert get_siesa_credentials(stamped).api_key.get_secret_value() == "first"  # type: ignore[union-attr]
    aws.put_secret("cliente-a", "siesa", {"api_key": "second"})
    # the same stamp: the cached value, as before
    assert get_siesa_credentials(stamped).api_key.get_secret_value() == "first"  # type: ignore[union-attr]
    restamped = _config(credentials_version="siesa:v2")
    assert get_siesa_credentials(restamped).api_key.get_secret_value() == "second"  # type: ignore[union-attr]
    aws.put_secret("cliente-a", "siesa", {"api_key": "third"})
    assert get_siesa_credentials(restamped).api_key.get_secret_value() == "second"  # type: ignore[union-attr]


def test_a_zero_ttl_reads_the_secret_every_time(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRETS_TTL_SECONDS", "0")
    config = _config()
    aws.put_secret("cliente-a", "siesa", {"api_key": "first"})
    assert get_siesa_credentials(config).api_key.get_secret_value() == "first"  # type: ignore[union-attr]
    aws.put_secret("cliente-a", "siesa", {"api_key": "second"})
    assert get_siesa_credentials(config).api_key.get_secret_value() == "second"  # type: ignore[union-attr]


def test_secret_values_are_registered_for_redaction(aws: Any) -> None:
    aws.put_secret(
        "cliente-a",
        "siesa",
        {
            "api_key": CANARY,
            "password": "pa55-word",
            "api_url": "https://a.siesa.com",
            "username": "integration",
        },
    )
    get_siesa_credentials(_config())
    scrubbed = observability.redact(
        f"key={CANARY} pw=pa55-word user=integration url=https://a.siesa.com"
    )
    assert scrubbed == "key=[redacted] pw=[redacted] user=integration url=https://a.siesa.com"


@pytest.mark.parametrize("client_id", ["../other", "cliente-a/../../x", "CLIENTE", ""])
def test_secret_names_refuse_odd_client_ids(client_id: str) -> None:
    with pytest.raises(InvalidClientConfig, match="client_id"):
        secret_name(client_id, "siesa")


def test_secret_names_refuse_unknown_systems() -> None:
    assert secret_name("cliente-a", "wms") == "siesa-integration/cliente-a/wms"
    with pytest.raises(InvalidSecret, match="no secret system"):
        secret_name("cliente-a", "../admin")
