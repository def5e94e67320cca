"""A Connekta client's config: what it must say, and what is refused before anything is written."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from runtime.config_store import ConfigStore, validate_config
from runtime.errors import InvalidClientConfig

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from connekta_helpers import connekta_settings


def _values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "client_id": "cliente-c",
        "client_name": "Empresa C S.A.",
        "product_type": "kong",
        "siesa_api_url": "https://servicios.siesacloud.com",
        "product_api_url": "https://cliente-c.kong.com/api/v1",
        "siesa_dialect": "connekta",
        "connekta": connekta_settings(),
    }
    values.update(overrides)
    return values


def test_a_connekta_client_and_its_defaults() -> None:
    config = validate_config(
        _values(connekta={"query": "API_v2_Items", "id_compania": 7, "company_code": 3})
    )
    assert config.siesa_dialect == "connekta"
    assert config.connekta is not None
    assert config.connekta.model_dump() == {
        "query": "API_v2_Items",
        "id_compania": 7,
        "company_code": 3,
        "endpoint": "standard",
        "timestamp_column": "f120_ts",
        "company_column": "f120_id_cia",
        "key_column": "f120_id",
    }


def test_a_rest_client_needs_no_connekta_block() -> None:
    config = validate_config(_values(siesa_dialect="rest", connekta=None))
    assert config.connekta is None


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"connekta": None}, "siesa_dialect 'connekta' needs a connekta block"),
        (
            {"connekta": {"id_compania": 1, "company_code": 1}},
            "field 'connekta.query': Field required",
        ),
        ({"connekta": connekta_settings(query="")}, "field 'connekta.query'"),
        ({"connekta": connekta_settings(query="X' OR '1'='1")}, "field 'connekta.query'"),
        ({"connekta": connekta_settings(company_code="1 OR 1=1")}, "field 'connekta.company_code'"),
        ({"connekta": connekta_settings(company_code=True)}, "field 'connekta.company_code'"),
        ({"connekta": connekta_settings(company_code=-1)}, "field 'connekta.company_code'"),
        ({"connekta": connekta_settings(id_compania=0)}, "field 'connekta.id_compania'"),
        (
            {"connekta": connekta_settings(timestamp_column="f120_ts >= '' OR 1=1 --")},
            "field 'connekta.timestamp_column'",
        ),
        (
            {"connekta": connekta_settings(company_column="cia;--")},
            "field 'connekta.company_column'",
        ),
        ({"connekta": connekta_settings(endpoint="other")}, "field 'connekta.endpoint'"),
        ({"connekta": connekta_settings(rows_key="Table")}, "field 'connekta.rows_key'"),
        ({"siesa_dialect": "rest"}, "a connekta block is given but siesa_dialect is 'rest'"),
    ],
)
def test_a_bad_connekta_config_is_refused_naming_the_field(
    overrides: dict[str, Any], says: str
) -> None:
    with pytest.raises(
        InvalidClientConfig, match=says.replace("(", r"\(").replace(")", r"\)")
    ) as caught:
        validate_config(_values(**overrides))
    assert "1=1" not in str(caught.value)  # refused values are never echoed


def test_a_connekta_client_without_a_query_is_refused_before_anything_is_written(aws: Any) -> None:
    _, dynamodb, _, _ = aws
    store = ConfigStore()
    bad = _values(connekta={"id_compania": 5001, "company_code": 1})
    with pytest.raises(InvalidClientConfig, match=r"connekta\.query"):
        store.put(bad)
    with pytest.raises(InvalidClientConfig, match="needs a connekta block"):
        store.put(_values(connekta=None))
    assert dynamodb.scan(TableName=store.table_name)["Items"] == []


def test_a_connekta_config_round_trips_through_dynamodb(aws: Any) -> None:
    store = ConfigStore()
    written = store.put(_values())
    read = store.get("cliente-c")
    assert read.connekta == written.connekta
    assert read.connekta is not None and read.connekta.id_compania == 5001
