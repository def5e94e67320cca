"""ConfigStore against moto's DynamoDB: validation on read and write, the GSIs, sync status writes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from runtime.config_store import ENABLED_FLAG, ConfigStore, validate_config
from runtime.errors import ClientDisabled, ClientNotFound, InvalidClientConfig


def _raw(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "client_id": {"S": "cliente-x"},
        "client_name": {"S": "Empresa X"},
        "enabled": {"BOOL": True},
        ENABLED_FLAG: {"S": "true"},
        "product_type": {"S": "kong"},
        "siesa_api_url": {"S": "https://x.siesa.com/api/v1"},
        "product_api_url": {"S": "https://x.kong.com/api/v1"},
    }
    item.update(overrides)
    return {key: value for key, value in item.items() if value is not None}


def test_put_then_get_round_trips_and_derives_names(aws: Any) -> None:
    written = aws.put_client()
    read = ConfigStore().get("cliente-a")
    assert read == written
    assert read.siesa_credentials_secret == "siesa-integration/cliente-a/siesa"
    assert read.product_credentials_secret == "siesa-integration/cliente-a/kong"
    assert read.siesa_timezone == "America/Bogota"
    assert read.created_at and read.updated_at
    raw = aws.dynamodb.get_item(
        TableName="siesa-integration-clients", Key={"client_id": {"S": "cliente-a"}}
    )
    assert raw["Item"][ENABLED_FLAG] == {"S": "true"}
    assert raw["Item"]["enabled"] == {"BOOL": True}


def test_the_failed_records_threshold_defaults_to_5_and_round_trips_as_a_number(
    aws: Any,
) -> None:
    assert aws.put_client().failed_records_alert_percent == Decimal(5)
    aws.put_client(client_id="cliente-b", failed_records_alert_percent=2.5)
    read = ConfigStore().get("cliente-b")
    assert read.failed_records_alert_percent == Decimal("2.5")
    raw = aws.dynamodb.get_item(
        TableName="siesa-integration-clients", Key={"client_id": {"S": "cliente-b"}}
    )
    assert raw["Item"]["failed_records_alert_percent"] == {"N": "2.5"}
    assert read.model_dump(mode="json")["failed_records_alert_percent"] == 2.5


def test_missing_client_is_client_not_found(aws: Any) -> None:
    with pytest.raises(ClientNotFound, match="cliente-z"):
        ConfigStore().get("cliente-z")


def test_disabled_client_is_refused_only_when_enabled_is_required(aws: Any) -> None:
    aws.put_client(enabled=False)
    assert ConfigStore().get("cliente-a").enabled is False
    with pytest.raises(ClientDisabled, match="cliente-a"):
        ConfigStore().get("cliente-a", require_enabled=True)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"siesa_api_url": {"S": "http://x.siesa.com/api"}}, "siesa_api_url"),
        ({"product_type": None}, "product_type"),
        ({"product_type": {"S": "erp9000"}}, "product_type"),
        ({"siesa_timezone": {"S": "Mars/Olympus"}}, "siesa_timezone"),
        ({"last_sync_records": {"S": "many"}}, "last_sync_records"),
        ({"failed_records_alert_percent": {"N": "100.5"}}, "failed_records_alert_percent"),
        ({"failed_records_alert_percent": {"N": "2.125"}}, "failed_records_alert_percent"),
        ({"surprise": {"S": "extra"}}, "surprise"),
    ],
)
def test_invalid_item_names_the_field(aws: Any, overrides: dict[str, Any], field: str) -> None:
    aws.put_raw_item(_raw(**overrides))
    with pytest.raises(InvalidClientConfig) as caught:
        ConfigStore().get("cliente-x")
    assert f"field {field!r}" in str(caught.value)
    assert "cliente-x" in str(caught.value)


def test_wrong_secret_name_is_named(aws: Any) -> None:
    aws.put_raw_item(_raw(siesa_credentials_secret={"S": "siesa-integration/other/siesa"}))
    with pytest.raises(InvalidClientConfig, match="siesa_credentials_secret"):
        ConfigStore().get("cliente-x")


@pytest.mark.parametrize("client_id", ["../etc", "A-upper", "a", "a/b", "x" * 70, ""])
def test_odd_client_ids_are_refused_before_any_lookup(aws: Any, client_id: str) -> None:
    with pytest.raises(InvalidClientConfig, match="client_id"):
        ConfigStore().get(client_id)


def test_put_validates_before_writing(aws: Any) -> None:
    store = ConfigStore()
    with pytest.raises(InvalidClientConfig, match="'product_api_url'"):
        store.put(
            {
                "client_id": "cliente-b",
                "client_name": "B",
                "product_type": "wms",
                "siesa_api_url": "https://b.siesa.com/api",
                "product_api_url": "ftp://b.wms.com",
            }
        )
    assert "Item" not in aws.dynamodb.get_item(
        TableName="siesa-integration-clients", Key={"client_id": {"S": "cliente-b"}}
    )


def test_put_must_not_exist_refuses_an_existing_client(aws: Any) -> None:
    aws.put_client()
    with pytest.raises(InvalidClientConfig, match="already exists"):
        ConfigStore().put(
            validate_config({**aws.configs.get("cliente-a").model_dump()}), must_not_exist=True
        )


def test_loopback_http_is_allowed_for_local_runs(aws: Any) -> None:
    config = aws.put_client(siesa_api_url="http://127.0.0.1:8001/api/v1")
    assert config.siesa_api_url == "http://127.0.0.1:8001/api/v1"


def test_listings_use_the_indexes_and_report_invalid_items(aws: Any) -> None:
    aws.put_client(client_id="cliente-a")
    aws.put_client(
        client_id="cliente-b", product_type="wms", field_mappings_key="wms", enabled=False
    )
    aws.put_client(client_id="cliente-c", product_type="wms", field_mappings_key="wms")
    aws.put_raw_item(_raw(client_id={"S": "cliente-x"}, siesa_api_url={"S": "http://bad.example"}))
    store = ConfigStore()

    everything = store.list_clients()
    assert [c.client_id for c in everything.clients] == ["cliente-a", "cliente-b", "cliente-c"]
    assert [item.client_id for item in everything.invalid] == ["cliente-x"]
    assert "siesa_api_url" in everything.invalid[0].reason

    enabled = store.list_clients(enabled=True)
    assert [c.client_id for c in enabled.clients] == ["cliente-a", "cliente-c"]
    disabled = store.list_clients(enabled=False)
    assert [c.client_id for c in disabled.clients] == ["cliente-b"]

    wms = store.list_clients(product_type="wms")
    assert [c.client_id for c in wms.clients] == ["cliente-b", "cliente-c"]
    wms_enabled = store.list_clients(product_type="wms", enabled=True)
    assert [c.client_id for c in wms_enabled.clients] == ["cliente-c"]


def test_set_enabled_moves_the_client_between_index_partitions(aws: Any) -> None:
    aws.put_client()
    store = ConfigStore()
    updated = store.set_enabled("cliente-a", False)
    assert updated.enabled is False
    assert store.list_clients(enabled=True).clients == []
    assert [c.client_id for c in store.list_clients(enabled=False).clients] == ["cliente-a"]
    store.set_enabled("cliente-a", True)
    assert store.get("cliente-a", require_enabled=True).enabled is True


def test_set_enabled_on_a_missing_client(aws: Any) -> None:
    with pytest.raises(ClientNotFound):
        ConfigStore().set_enabled("cliente-z", True)


def test_sync_status_never_goes_back_to_an_older_run(aws: Any) -> None:
    aws.put_client()
    store = ConfigStore()
    newer = "20250115T110000Z-bbbbbb"
    older = "20250115T100000Z-aaaaaa"
    assert store.update_sync_status(
        "cliente-a",
        run_id=newer,
        status="success",
        timestamp="2025-01-15T11:05:00Z",
        records=5,
        watermark="2025-01-15T06:00:00-05:00",
    )
    assert not store.update_sync_status(
        "cliente-a",
        run_id=older,
        status="partial",
        timestamp="2025-01-15T11:06:00Z",
        records=3,
        watermark="2025-01-15T05:00:00-05:00",
    )
    config = store.get("cliente-a")
    assert (config.last_sync_status, config.last_sync_records, config.last_sync_run_id) == (
        "success",
        5,
        newer,
    )
    assert config.last_sync_watermark == "2025-01-15T06:00:00-05:00"


def test_sync_status_of_a_missing_client(aws: Any) -> None:
    with pytest.raises(ClientNotFound):
        ConfigStore().update_sync_status(
            "cliente-z",
            run_id="20250115T100000Z-aaaaaa",
            status="failed",
            timestamp="t",
            records=None,
        )
