"""Client configs in DynamoDB (`siesa-integration-clients`), validated on every read and write.

Every item is checked with `runtime.config.ClientConfig` when it is read and
before it is written: a bad item is an `InvalidClientConfig` that names the
field, never a KeyError deep in a handler.

The `enabled-index` GSI: DynamoDB key attributes must be strings, numbers or
binary, so a BOOL `enabled` cannot be indexed. Every write therefore also
stores `enabled_flag`, the string "true" or "false", kept in step with
`enabled` by this store (the only writer of both), and the GSI's partition
key is `enabled_flag`. Readers never see `enabled_flag`: it is derived.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import ValidationError

from runtime import aws, settings
from runtime.config import ClientConfig, validate_client_id
from runtime.errors import ClientDisabled, ClientNotFound, InvalidClientConfig

ENABLED_INDEX = "enabled-index"
PRODUCT_TYPE_INDEX = "product-type-index"
ENABLED_FLAG = "enabled_flag"
LEASE_ATTRIBUTES = ("lease_execution", "lease_run_id", "lease_expires_at", "lease_skips")
"""The client's run lease (runtime/run_lease.py): on the item, not part of its config."""
DERIVED_ATTRIBUTES = (ENABLED_FLAG, *LEASE_ATTRIBUTES)

CLIENTS_TABLE_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "client_id", "AttributeType": "S"},
        {"AttributeName": ENABLED_FLAG, "AttributeType": "S"},
        {"AttributeName": "product_type", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "client_id", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": ENABLED_INDEX,
            "KeySchema": [{"AttributeName": ENABLED_FLAG, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": PRODUCT_TYPE_INDEX,
            "KeySchema": [{"AttributeName": "product_type", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
"""`create_table` arguments (without TableName): for the local engine, tests and infra to agree on."""

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


ISO_UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How the design document writes times: `2025-01-15T10:00:00Z` (seconds, UTC, a `Z`)."""


def now_utc() -> datetime:
    """The current time, aware, in UTC (the default clock of the stores and the handlers)."""
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """A UTC time as the design document writes it: `2025-01-15T10:00:00Z`."""
    return moment.strftime(ISO_UTC_FORMAT)


def platform_time(moment: object) -> str | None:
    """Any time AWS returns (aware, or naive meaning UTC) as `2025-01-15T10:00:00Z`; None if not one."""
    if not isinstance(moment, datetime):
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return iso_utc(aware.astimezone(UTC))


def utc_now_iso(clock: Callable[[], datetime] = now_utc) -> str:
    """Now (by `clock`), as the design document writes times: `2025-01-15T10:00:00Z`."""
    return iso_utc(clock())


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | set):
        return [_plain(item) for item in value]
    return value


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """A Python mapping as a DynamoDB item (None values are left out)."""
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain Python values."""
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def describe_validation_error(exc: ValidationError, subject: str) -> str:
    """One line per problem, naming the field; input values are never echoed."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"field {where!r}: {message}" if where else message)
    return f"{subject}: " + "; ".join(problems)


LIMIT_FIELDS = (
    "siesa_requests_per_minute",
    "product_requests_per_minute",
    "product_concurrency",
    "failed_records_alert_percent",
)
"""What `siesa client set-limits` changes: the client's budgets, concurrency and alert threshold."""


def validate_config(
    values: Mapping[str, Any] | ClientConfig, subject: str = "client config"
) -> ClientConfig:
    """A ClientConfig from a mapping (or a re-check of one); InvalidClientConfig naming the field."""
    data = values.model_dump() if isinstance(values, ClientConfig) else dict(values)
    for derived in DERIVED_ATTRIBUTES:
        data.pop(derived, None)
    try:
        return ClientConfig.model_validate(data)
    except ValidationError as exc:
        raise InvalidClientConfig(describe_validation_error(exc, subject)) from None


@dataclass(frozen=True)
class InvalidItem:
    """A clients-table item that does not validate, as a listing reports it."""

    client_id: str
    reason: str


@dataclass
class ClientListing:
    """What a listing found: the valid configs, and every item that is not (never dropped silently)."""

    clients: list[ClientConfig] = field(default_factory=list)
    invalid: list[InvalidItem] = field(default_factory=list)


class ConfigStore:
    """Reads and writes client configs."""

    def __init__(
        self,
        table_name: str | None = None,
        *,
        dynamodb: Any | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.table_name = settings.clients_table(table_name)
        self.dynamodb = dynamodb if dynamodb is not None else aws.client("dynamodb")
        self.clock = clock

    # reading

    def get(self, client_id: str, *, require_enabled: bool = False) -> ClientConfig:
        """The client's config; ClientNotFound, InvalidClientConfig, or ClientDisabled when asked."""
        client_id = validate_client_id(client_id)
        response = self.dynamodb.get_item(
            TableName=self.table_name, Key={"client_id": {"S": client_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            raise ClientNotFound(f"client {client_id!r} is not in {self.table_name}")
        config = validate_config(from_item(item), f"client {client_id!r} in {self.table_name}")
        if require_enabled and not config.enabled:
            raise ClientDisabled(f"client {client_id!r} is disabled")
        return config

    def list_clients(
        self, *, enabled: bool | None = None, product_type: str | None = None
    ) -> ClientListing:
        """All clients, only enabled (or disabled) ones, or one product type's, through the GSIs."""
        listing = ClientListing()
        for raw in self._items(enabled=enabled, product_type=product_type):
            values = from_item(raw)
            client_id = str(values.get("client_id", "?"))
            try:
                config = validate_config(values, f"client {client_id!r} in {self.table_name}")
            except InvalidClientConfig as exc:
                listing.invalid.append(InvalidItem(client_id=client_id, reason=str(exc)))
                continue
            if enabled is not None and config.enabled != enabled:
                continue
            if product_type is not None and config.product_type != product_type:
                continue
            listing.clients.append(config)
        listing.clients.sort(key=lambda config: config.client_id)
        listing.invalid.sort(key=lambda item: item.client_id)
        return listing

    def _items(self, *, enabled: bool | None, product_type: str | None) -> Iterator[dict[str, Any]]:
        if product_type is not None:
            operation, arguments = (
                "query",
                {
                    "IndexName": PRODUCT_TYPE_INDEX,
                    "KeyConditionExpression": "product_type = :p",
                    "ExpressionAttributeValues": {":p": {"S": product_type}},
                },
            )
        elif enabled is not None:
            operation, arguments = (
                "query",
                {
                    "IndexName": ENABLED_INDEX,
                    "KeyConditionExpression": f"{ENABLED_FLAG} = :e",
                    "ExpressionAttributeValues": {":e": {"S": _flag(enabled)}},
                },
            )
        else:
            operation, arguments = "scan", {}
        paginator = self.dynamodb.get_paginator(operation)
        for page in paginator.paginate(TableName=self.table_name, **arguments):
            yield from page.get("Items", [])

    # writing

    def put(
        self, config: ClientConfig | Mapping[str, Any], *, must_not_exist: bool = False
    ) -> ClientConfig:
        """Validate, stamp created_at/updated_at and write; returns what was written."""
        checked = validate_config(config)
        now = utc_now_iso(self.clock)
        checked = checked.model_copy(
            update={"created_at": checked.created_at or now, "updated_at": now}
        )
        checked = validate_config(checked)
        values = checked.model_dump()
        values[ENABLED_FLAG] = _flag(checked.enabled)
        arguments: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(values)}
        if must_not_exist:
            arguments["ConditionExpression"] = "attribute_not_exists(client_id)"
        try:
            self.dynamodb.put_item(**arguments)
        except ClientError as exc:
            if _conditional_failed(exc):
                raise InvalidClientConfig(f"client {checked.client_id!r} already exists") from None
            raise
        return checked

    def set_enabled(self, client_id: str, enabled: bool) -> ClientConfig:
        """Enable or disable a client (both `enabled` and its index flag); ClientNotFound if absent."""
        return self._update_existing(
            client_id,
            "SET enabled = :e, #flag = :f, updated_at = :u",
            {":e": {"BOOL": enabled}, ":f": {"S": _flag(enabled)}},
            names={"#flag": ENABLED_FLAG},
        )

    def set_pin(self, client_id: str, version: str | None) -> ClientConfig:
        """Pin the client to a bundle version (None: unpin); ClientNotFound if absent.

        An operator action: the tenant roles may not write `bundle_pin`.
        """
        if version is None:
            return self._update_existing(client_id, "SET updated_at = :u REMOVE bundle_pin", {})
        return self._update_existing(
            client_id, "SET bundle_pin = :p, updated_at = :u", {":p": {"S": version}}
        )

    def set_schedule(
        self, client_id: str, expression: str | None, *, stock: bool = False
    ) -> ClientConfig:
        """Change `sync_schedule` (or `stock_schedule`; None removes it); ClientNotFound if absent.

        Validated first by the config's own rules; an operator action.
        """
        field_name = "stock_schedule" if stock else "sync_schedule"
        current = self.get(client_id)
        validate_config(current.model_copy(update={field_name: expression}))
        if expression is None:
            return self._update_existing(client_id, f"SET updated_at = :u REMOVE {field_name}", {})
        return self._update_existing(
            client_id, f"SET {field_name} = :s, updated_at = :u", {":s": {"S": expression}}
        )

    def set_limits(
        self, client_id: str, limits: Mapping[str, int | Decimal | None]
    ) -> ClientConfig:
        """Change the client's request budgets, concurrency or alert threshold (None: the default).

        Validated first by the config's own rules (InvalidClientConfig names the
        field); only LIMIT_FIELDS; an operator action (ClientNotFound if absent).
        """
        unknown = sorted(set(limits) - set(LIMIT_FIELDS))
        if unknown:
            raise InvalidClientConfig(f"not a limit of a client: {', '.join(unknown)}")
        current = self.get(client_id)
        merged = {**current.model_dump(), **limits}
        for name, value in limits.items():
            if value is None:
                del merged[name]  # back to the field's default
        validate_config(merged, f"client {client_id!r}")
        sets = [f"{name} = :{name}" for name, value in limits.items() if value is not None]
        removes = [name for name, value in limits.items() if value is None]
        expression = "SET " + ", ".join([*sets, "updated_at = :u"])
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        values = {
            f":{name}": {"N": str(value)} for name, value in limits.items() if value is not None
        }
        return self._update_existing(client_id, expression, values)

    def stamp_credentials(self, client_id: str, version: str) -> ClientConfig:
        """Record that the client's credentials changed; ClientNotFound if absent.

        An operator action: the handlers only read `credentials_version`, and a
        secret they cached under another stamp is read again (runtime/secrets.py).
        """
        return self._update_existing(
            client_id,
            "SET credentials_version = :v, updated_at = :u",
            {":v": {"S": version}},
        )

    def _update_existing(
        self,
        client_id: str,
        expression: str,
        values: dict[str, Any],
        *,
        names: dict[str, str] | None = None,
    ) -> ClientConfig:
        """Apply an operator's update (stamped `updated_at = :u`) to an existing client item."""
        client_id = validate_client_id(client_id)
        extra: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        try:
            response = self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"client_id": {"S": client_id}},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(client_id)",
                ExpressionAttributeValues={**values, ":u": {"S": utc_now_iso(self.clock)}},
                ReturnValues="ALL_NEW",
                **extra,
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ClientNotFound(f"client {client_id!r} is not in {self.table_name}") from None
            raise
        return validate_config(from_item(response["Attributes"]), f"client {client_id!r}")

    def update_sync_status(
        self,
        client_id: str,
        *,
        run_id: str,
        status: str,
        timestamp: str,
        records: int | None,
        watermark: str | None = None,
    ) -> bool:
        """Record a run's outcome on the client item, unless a later run is already recorded.

        The write is conditional on `last_sync_run_id` (run ids sort by start
        time), so an older run that finishes late never overwrites a newer
        one's status or moves the watermark back. The watermark is written
        only when given. Returns False when a newer run won.
        """
        client_id = validate_client_id(client_id)
        assignments = [
            "last_sync_status = :status",
            "last_sync_timestamp = :ts",
            "last_sync_run_id = :run",
            "updated_at = :now",
        ]
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":ts": {"S": timestamp},
            ":run": {"S": run_id},
            ":now": {"S": utc_now_iso(self.clock)},
        }
        if records is not None:
            assignments.append("last_sync_records = :records")
            values[":records"] = {"N": str(int(records))}
        if watermark is not None:
            assignments.append("last_sync_watermark = :wm")
            values[":wm"] = {"S": watermark}
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"client_id": {"S": client_id}},
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression=(
                    "attribute_exists(client_id) AND "
                    "(attribute_not_exists(last_sync_run_id) OR last_sync_run_id <= :run)"
                ),
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            self.get(client_id)  # ClientNotFound when the item is gone
            return False
        return True


def _flag(enabled: bool) -> str:
    return "true" if enabled else "false"


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
