"""Tenant configuration and credentials, validated on every read and write.

The clients table item (design document §1) and the Secrets Manager secrets
(§2) as pydantic models. Validation errors name the field and never echo a
secret value.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)

from runtime.api_url import check_api_url
from runtime.product_types import leaving_scope_field, registered_product_types

CLIENT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
SYNC_TYPES = ("initial", "incremental", "stock")
SyncType = Literal["initial", "incremental", "stock"]
"""`stock` changes only the stock of records the product holds (runtime/stages/stock.py)."""
STOCK_SUM = "sum"
"""`stock.warehouse` default: a product record's quantity is the sum over every warehouse."""
SyncStatus = Literal["success", "partial", "failed", "running"]
LeftScope = Literal["zero_stock", "mark_inactive", "report"]
"""What a record the product holds becomes when it leaves the client's scope (docs/operations.md)."""
DEFAULT_FAILED_RECORDS_ALERT_PERCENT = Decimal(5)
"""A run whose failed records are above this share of its records in scope alerts (design document)."""
DEFAULT_SIESA_REQUESTS_PER_MINUTE = 100
"""The ERP's limit per client (design document, "Rate Limiting")."""
DEFAULT_PRODUCT_CONCURRENCY = 4
"""Product requests one load sends at once; the contracts state no limit (issue 13)."""
MAX_PRODUCT_CONCURRENCY = 32
MAX_REQUESTS_PER_MINUTE = 60_000
SCHEDULE_PATTERN = r"rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\)"
"""An EventBridge schedule expression, as `sync_schedule` and `stock_schedule` take it."""


def validate_client_id(value: object) -> str:
    """A client id safe to put in a key or a secret name; InvalidClientConfig otherwise.

    Checked before the id is used to build any S3 key, secret name or table key,
    so a crafted id ("../x", "a/b") never reaches a path.
    """
    from runtime.errors import InvalidClientConfig

    if isinstance(value, str) and re.fullmatch(CLIENT_ID_PATTERN, value):
        return value
    shown = repr(value)[:80] if isinstance(value, str) else type(value).__name__
    raise InvalidClientConfig(f"client_id {shown} must match {CLIENT_ID_PATTERN}")


HttpsUrl = Annotated[str, Field(min_length=8, max_length=2048)]

SQL_IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
"""A column name the Connekta filter may name: letters, digits, underscore; nothing that quotes."""
CONNEKTA_QUERY_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
"""A saved query's name (`descripcion`), e.g. API_v2_Items or INTEGRACION_ITEMS."""
ConnektaEndpoint = Literal["standard", "custom"]


def _not_bool(value: object) -> object:
    """pydantic reads True as 1; a company or tenant number must be a number."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not true/false")
    return value


class ConnektaSettings(BaseModel):
    """How to read a client's ERP through Siesa's Connekta API (siesa_dialect "connekta").

    `query` is the saved query's name (`descripcion`), `id_compania` the
    Connekta tenant id, `company_code` the ERP company (`f120_id_cia`) whose
    rows the client syncs: a tenant's standard queries return every company's
    rows. `endpoint` "standard" runs `ejecutarconsultaestandar` (rows under
    detalle.Table), "custom" runs `ejecutarconsulta` (rows under
    detalle.Datos). Column names go into the `parametros` filter, so they must
    be plain identifiers.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    query: str = Field(pattern=CONNEKTA_QUERY_PATTERN)
    id_compania: int = Field(ge=1)
    company_code: int = Field(ge=0)
    endpoint: ConnektaEndpoint = "standard"
    timestamp_column: str = Field(default="f120_ts", pattern=SQL_IDENTIFIER_PATTERN)
    company_column: str = Field(default="f120_id_cia", pattern=SQL_IDENTIFIER_PATTERN)
    key_column: str = Field(default="f120_id", pattern=SQL_IDENTIFIER_PATTERN)

    @field_validator("id_compania", "company_code", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        return _not_bool(value)


class StockSettings(BaseModel):
    """How a stock-only sync (`sync_type: stock`) reads quantities (docs/operations.md).

    `warehouse`: "sum" (the default) adds a product's rows of every warehouse;
    a warehouse id takes that warehouse's row only. `line_warehouse_field`: for a
    one-to-many mapping making one product record per warehouse, the canonical
    field holding a line's warehouse (e.g. "custom:warehouse"); each line then
    takes its own warehouse's row and `warehouse` is not used. `connekta_column`:
    a Connekta client has no stock endpoint, so its stock sync reads this column
    of the saved query (refused when unset); `connekta_warehouse_column` names
    the row's warehouse.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    warehouse: str = Field(default=STOCK_SUM, min_length=1, max_length=64)
    line_warehouse_field: str | None = Field(default=None, min_length=1, max_length=128)
    connekta_column: str | None = Field(default=None, pattern=SQL_IDENTIFIER_PATTERN)
    connekta_warehouse_column: str = Field(default="f150_id", pattern=SQL_IDENTIFIER_PATTERN)


class ClientConfig(BaseModel):
    """One item of `siesa-integration-clients`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_id: str = Field(pattern=CLIENT_ID_PATTERN)
    client_name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    product_type: str
    siesa_api_url: HttpsUrl
    siesa_credentials_secret: str = ""
    product_api_url: HttpsUrl
    product_credentials_secret: str = ""
    aws_account_id: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    sync_schedule: str = "rate(6 hours)"
    stock_schedule: str | None = None
    """A second, usually tighter schedule of stock-only syncs (e.g. `rate(15 minutes)`); None: none."""
    field_mappings_key: str = Field(default="", pattern=r"^([a-z0-9][a-z0-9_-]*)?$")
    siesa_timezone: str = "America/Bogota"
    siesa_dialect: Literal["rest", "connekta"] = "rest"
    connekta: ConnektaSettings | None = None
    left_scope: LeftScope = "report"
    stock: StockSettings | None = None
    """How a stock-only sync reads quantities; None: the defaults (`stock_settings`)."""
    failed_records_alert_percent: Decimal = Field(
        default=DEFAULT_FAILED_RECORDS_ALERT_PERCENT, ge=0, le=100, decimal_places=2
    )
    """A run whose failed records exceed this percentage of its records in scope alerts.

    A Decimal, not a float: DynamoDB stores numbers as Decimal (boto3 refuses floats).
    """
    bundle_pin: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """The mapping bundle version this client's runs use instead of the current one.

    Written only by `siesa map pin` with the operator's credentials: no tenant
    role's UpdateItem may name it (infra/template.yaml, `dynamodb:Attributes`).
    """
    siesa_requests_per_minute: int = Field(
        default=DEFAULT_SIESA_REQUESTS_PER_MINUTE, ge=1, le=MAX_REQUESTS_PER_MINUTE
    )
    """The client's budget of ERP requests, shared by every invocation (runtime/budgets.py)."""
    product_requests_per_minute: int | None = Field(default=None, ge=1, le=MAX_REQUESTS_PER_MINUTE)
    """The client's budget of product requests; None caps nothing (a 429 still pauses them all)."""
    product_concurrency: int = Field(
        default=DEFAULT_PRODUCT_CONCURRENCY, ge=1, le=MAX_PRODUCT_CONCURRENCY
    )
    """Product requests one load sends at once (the loader's workers)."""
    credentials_version: str | None = None
    """Stamped by `siesa client set-credentials` (operator only): a handler whose cached secret was
    read under another stamp reads the secret again (runtime/secrets.py)."""
    last_sync_timestamp: str | None = None
    last_sync_status: SyncStatus | None = None
    last_sync_records: int | None = None
    last_sync_watermark: str | None = None
    last_sync_run_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def stock_settings(self) -> StockSettings:
        """The client's stock settings, the defaults when it names none."""
        return self.stock if self.stock is not None else StockSettings()

    @field_validator("siesa_api_url", "product_api_url")
    @classmethod
    def _https(cls, value: str) -> str:
        return check_api_url(value)

    @field_serializer("failed_records_alert_percent", when_used="json")
    def _percent_as_number(self, value: Decimal) -> float:
        """A JSON number (pydantic writes a Decimal as a string)."""
        return float(value)

    @field_validator(
        "siesa_requests_per_minute",
        "product_requests_per_minute",
        "product_concurrency",
        mode="before",
    )
    @classmethod
    def _count(cls, value: object) -> object:
        return _not_bool(value)

    @field_validator("siesa_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("sync_schedule", "stock_schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(SCHEDULE_PATTERN, value):
            raise ValueError("must be an EventBridge schedule: rate(N hours) or cron(...)")
        return value

    @field_validator("product_type")
    @classmethod
    def _product_type(cls, value: str) -> str:
        known = registered_product_types()
        if value not in known:
            raise ValueError(f"unknown product type {value!r}; known: {', '.join(sorted(known))}")
        return value

    @model_validator(mode="after")
    def _dialect_settings(self) -> ClientConfig:
        """A Connekta client names its saved query; a REST client carries no Connekta block."""
        if self.siesa_dialect == "connekta" and self.connekta is None:
            raise ValueError(
                "siesa_dialect 'connekta' needs a connekta block with at least query (the saved "
                "query's name), id_compania (the Connekta tenant) and company_code (the ERP company)"
            )
        if self.siesa_dialect != "connekta" and self.connekta is not None:
            raise ValueError(
                f"a connekta block is given but siesa_dialect is {self.siesa_dialect!r}; "
                "set siesa_dialect to 'connekta' or remove the block"
            )
        return self

    @model_validator(mode="after")
    def _left_scope(self) -> ClientConfig:
        """The product must have the field the client's leaving-scope choice changes."""
        if self.left_scope != "report" and not leaving_scope_field(
            self.product_type, self.left_scope
        ):
            raise ValueError(
                f"left_scope {self.left_scope!r} is not possible for product type "
                f"{self.product_type!r}: its API has no field for it; choose 'report'"
            )
        return self

    @model_validator(mode="after")
    def _secret_names(self) -> ClientConfig:
        """Secret names and the mapping default from the client id and product type."""
        prefix = f"siesa-integration/{self.client_id}/"
        if not self.siesa_credentials_secret:
            self.siesa_credentials_secret = prefix + "siesa"
        if not self.product_credentials_secret:
            self.product_credentials_secret = prefix + self.product_type
        if not self.field_mappings_key:
            self.field_mappings_key = self.product_type
        if self.siesa_credentials_secret != prefix + "siesa":
            raise ValueError(f"siesa_credentials_secret must be {prefix}siesa")
        expected = prefix + self.product_type
        if self.product_credentials_secret != expected:
            raise ValueError(f"product_credentials_secret must be {expected}")
        return self


CREDENTIAL_TEXT_PROBLEM = "must not have whitespace around it or hold control characters"
"""Why a credential value is refused: said by key, never with the value."""


def plain_credential(value: str) -> str:
    """A credential value as stored, or ValueError: no surrounding whitespace, no control characters.

    A pasted key with a trailing newline would otherwise reach an HTTP header,
    where the HTTP library refuses it and echoes the whole header in its error.
    """
    if value != value.strip() or any(
        unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in value
    ):
        raise ValueError(CREDENTIAL_TEXT_PROBLEM)
    return value


def _plain_leaves(value: Any, where: str = "") -> None:
    """Every string in a nested value checked by `plain_credential`; the error names the key."""
    if isinstance(value, str):
        try:
            plain_credential(value)
        except ValueError:
            raise ValueError(f"{where or 'value'} {CREDENTIAL_TEXT_PROBLEM}") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _plain_leaves(item, f"key {str(key)[:64]!r}")
    elif isinstance(value, list):
        for item in value:
            _plain_leaves(item, where)


class _Credentials(BaseModel):
    """What both secrets share: no unknown keys (they would show in `repr`), plain values.

    Built on first use (`defer_build`): the transformer reads no secret and each of the
    other handlers one kind, so no handler's cold start builds a model it never validates.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    @field_validator("*", mode="after")
    @classmethod
    def _plain(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            plain_credential(value.get_secret_value())
        elif isinstance(value, str):
            plain_credential(value)
        return value


class SiesaCredentials(_Credentials):
    """`siesa-integration/{client_id}/siesa`. REST uses `api_key` as the bearer token."""

    api_url: str | None = None
    api_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    tenant_id: str | None = None
    conni_key: SecretStr | None = None
    conni_token: SecretStr | None = None

    @field_validator("api_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        return None if value is None else check_api_url(value)


class ProductCredentials(_Credentials):
    """`siesa-integration/{client_id}/{product_type}`."""

    product_type: str
    api_url: str
    api_key: SecretStr
    tenant_id: str | None = None
    database_type: str | None = None
    service_endpoints: dict[str, str] = Field(default_factory=dict)
    additional_config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("api_url")
    @classmethod
    def _https(cls, value: str) -> str:
        return check_api_url(value)

    @field_validator("service_endpoints")
    @classmethod
    def _endpoints(cls, value: dict[str, str]) -> dict[str, str]:
        checked = {}
        for name, url in value.items():
            try:
                checked[name] = check_api_url(url)
            except ValueError as exc:
                raise ValueError(f"endpoint {name[:64]!r} {exc}") from None
        return checked

    @field_validator("additional_config")
    @classmethod
    def _additional(cls, value: dict[str, Any]) -> dict[str, Any]:
        _plain_leaves(value)
        return value
