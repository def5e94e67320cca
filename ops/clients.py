"""Registering and managing clients: the design document's "Adding a New Client" in one call.

`add_client` validates everything first (the three documents, the
deployment's state machine and EventBridge role, the mapping named by
`field_mappings_key`, and that nothing of the client exists yet), then
writes both secrets (encrypted with the stack's `SecretsKey`), the
clients-table item and the schedule rule. If a
write fails, what was written is removed again, so a client is either
wholly registered or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import BundleContractError
from contract.manifest import MANIFEST_NAME
from ops.deployment import (
    Deployment,
    describe_client_error,
    error_code,
    resolve,
    translate_aws_errors,
)
from ops.errors import DeploymentError, InputError, OpsError, UnknownClient, WriteFailed
from ops.schedule import (
    Schedule,
    delete_schedule,
    get_schedule,
    put_schedule,
    rule_exists,
    set_schedule_enabled,
    target_input,
)
from ops.validation import JsonInput, NewClient, check_new_client, rule_name
from runtime.config import ClientConfig, validate_client_id
from runtime.config_store import InvalidItem, platform_time
from runtime.errors import (
    ClientNotFound,
    IntegrationError,
    InvalidClientConfig,
    MappingBundleError,
)

SHOWN_CONFIG_FIELDS = (
    "client_id",
    "client_name",
    "enabled",
    "product_type",
    "siesa_dialect",
    "connekta",
    "siesa_api_url",
    "product_api_url",
    "siesa_credentials_secret",
    "product_credentials_secret",
    "field_mappings_key",
    "sync_schedule",
    "stock_schedule",
    "siesa_timezone",
    "siesa_requests_per_minute",
    "product_requests_per_minute",
    "product_concurrency",
    "failed_records_alert_percent",
    "aws_account_id",
    "last_sync_status",
    "last_sync_timestamp",
    "last_sync_records",
    "last_sync_watermark",
    "last_sync_run_id",
    "credentials_version",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class SecretInfo:
    """Whether a credentials secret exists, and when it last changed (never its value)."""

    name: str
    exists: bool
    last_changed: str | None = None


@dataclass(frozen=True)
class ClientView:
    """A client as the operator sees it: config, schedule rule and, from `show`, its secrets."""

    config: ClientConfig
    schedule: Schedule | None
    secrets: tuple[SecretInfo, ...] = ()
    stock_schedule: Schedule | None = None
    """The stock-only rule (`siesa-integration-{id}-stock`), when the client has one."""

    @property
    def client_id(self) -> str:
        """The client's id."""
        return self.config.client_id

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json` (credentials appear by name only)."""
        values = self.config.model_dump(mode="json")
        shown: dict[str, Any] = {name: values.get(name) for name in SHOWN_CONFIG_FIELDS}
        shown["schedule"] = self.schedule.to_json() if self.schedule else None
        shown["stock_rule"] = self.stock_schedule.to_json() if self.stock_schedule else None
        if self.secrets:
            shown["secrets"] = [
                {"name": info.name, "exists": info.exists, "last_changed": info.last_changed}
                for info in self.secrets
            ]
        return shown


@dataclass(frozen=True)
class ClientList:
    """Every client, and every table item that does not validate (reported, never dropped)."""

    clients: list[ClientView] = field(default_factory=list)
    invalid: list[InvalidItem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "clients": [view.to_json() for view in self.clients],
            "invalid": [
                {"client_id": item.client_id, "reason": item.reason} for item in self.invalid
            ],
        }


# --- adding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddPlan:
    """What `client add` would write, checked: the item, secret names (never values), the rules."""

    new: NewClient
    secrets_key_id: str

    @property
    def client_id(self) -> str:
        """The client's id."""
        return self.new.config.client_id

    def rules(self) -> list[dict[str, Any]]:
        """The schedule rules, as `put_schedule` writes them."""
        config = self.new.config
        state = "ENABLED" if config.enabled else "DISABLED"
        rules = []
        for stock, expression in ((False, config.sync_schedule), (True, config.stock_schedule)):
            if expression is not None:
                rules.append(
                    {
                        "rule_name": rule_name(config.client_id, stock=stock),
                        "schedule": expression,
                        "state": state,
                        "input": json.loads(target_input(config.client_id, stock=stock)),
                    }
                )
        return rules

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--dry-run --json`."""
        config = self.new.config
        item = {k: v for k, v in config.model_dump(mode="json").items() if v is not None}
        return {
            "dry_run": True,
            "client_id": config.client_id,
            "item": item,
            "secrets": [
                {"name": name, "kms_key_id": self.secrets_key_id}
                for name in (config.siesa_credentials_secret, config.product_credentials_secret)
            ],
            "rules": self.rules(),
        }


ConnectionCheck = Callable[[NewClient], None]
"""Checks a new client's connections before anything is written; raises to refuse the client."""


@translate_aws_errors
def plan_add_client(
    config_json: JsonInput,
    siesa_credentials_json: JsonInput,
    product_credentials_json: JsonInput,
    *,
    deployment: Deployment | None = None,
) -> AddPlan:
    """Everything `add_client` checks, and what it would write; writes nothing (`--dry-run`)."""
    target = resolve(deployment)
    new = check_new_client(config_json, siesa_credentials_json, product_credentials_json)
    check_deployment_for(target, new)
    return AddPlan(new=new, secrets_key_id=target.secrets_key_id)


@translate_aws_errors
def add_client(
    config_json: JsonInput,
    siesa_credentials_json: JsonInput,
    product_credentials_json: JsonInput,
    *,
    deployment: Deployment | None = None,
    check: ConnectionCheck | None = None,
) -> ClientView:
    """Register a client: secrets, clients-table item and schedule rules, or nothing at all.

    Each document is JSON text (or an already parsed mapping). InputError
    when a document or the deployment's contents say no; nothing is written
    then, nor when `check` (the connection check of `siesa client add`)
    raises. WriteFailed when a write fails; what was written is undone.
    """
    target = resolve(deployment)
    plan = plan_add_client(
        config_json, siesa_credentials_json, product_credentials_json, deployment=target
    )
    if check is not None:
        check(plan.new)
    _write(target, plan.new)
    return show_client(plan.client_id, deployment=target)


def check_deployment_for(deployment: Deployment, new: NewClient) -> None:
    """What the deployment must hold (and must not hold yet) for `new` to be added."""
    config = new.config
    # both raise DeploymentError when the deployment lacks them
    _ = (deployment.state_machine_arn, deployment.eventbridge_role_arn)
    check_mapping(deployment, config)
    try:
        deployment.config_store().get(config.client_id)
    except ClientNotFound:
        pass
    except InvalidClientConfig:
        raise InputError(
            f"client {config.client_id} already exists, and its item does not validate "
            f"(see `siesa client list`)"
        ) from None
    else:
        raise InputError(
            f"client {config.client_id} already exists (see `siesa client show {config.client_id}`)"
        )
    for name in (config.siesa_credentials_secret, config.product_credentials_secret):
        if secret_info(deployment, name).exists:
            raise InputError(
                f"secret {name} already exists, left from an earlier client; delete it first "
                f"(aws secretsmanager delete-secret --secret-id {name} "
                "--force-delete-without-recovery)"
            )
    for stock in (False, True):
        if rule_exists(deployment, config.client_id, stock=stock):
            raise InputError(
                f"EventBridge rule {rule_name(config.client_id, stock=stock)} already exists, "
                f"left from an earlier client; delete it first (`siesa client remove "
                f"{config.client_id}` removes what is left)"
            )


def check_mapping(deployment: Deployment, config: ClientConfig) -> None:
    """The bundle holds the mapping `field_mappings_key` names, for the client's product."""
    loader = deployment.bundles()
    where = f"s3://{loader.bucket}/{loader.prefix}{MANIFEST_NAME}"
    try:
        manifest = loader.manifest()
    except MappingBundleError as exc:
        raise DeploymentError(
            f"{exc}; compile the mappings and upload the bundle (`siesa local up` does it locally)"
        ) from None
    try:
        entry = manifest.entry(config.field_mappings_key, where)
    except BundleContractError as exc:
        raise InputError(f"client config: field 'field_mappings_key': {exc}") from None
    declared = entry.product_type
    if declared != config.product_type:
        raise InputError(
            f"client config: field 'field_mappings_key': mapping {config.field_mappings_key!r} "
            f"is for product {declared!r}, but the client's product is {config.product_type!r}"
        )


def _write(deployment: Deployment, new: NewClient) -> None:
    """Write everything; on a failure undo what was written, newest first, and say so."""
    config = new.config
    secrets = deployment.client("secretsmanager")
    undo: list[tuple[str, Callable[[], None]]] = []
    step = ""
    try:
        for name, values in (
            (config.siesa_credentials_secret, new.siesa_credentials),
            (config.product_credentials_secret, new.product_credentials),
        ):
            step = f"secret {name}"
            secrets.create_secret(
                Name=name,
                KmsKeyId=deployment.secrets_key_id,
                SecretString=json.dumps(values),
                Description=f"Credentials of {config.client_id} (siesa-integration)",
                Tags=[{"Key": "client_id", "Value": config.client_id}],
            )
            undo.append((step, _secret_remover(deployment, name)))
        step = f"client item in {deployment.clients_table}"
        deployment.config_store().put(config, must_not_exist=True)
        undo.append((step, lambda: _delete_item(deployment, config.client_id)))
        step = f"schedule rule {rule_name(config.client_id)}"
        undo.append((step, lambda: _forget(delete_schedule(deployment, config.client_id))))
        put_schedule(deployment, config.client_id, config.sync_schedule, enabled=config.enabled)
        if config.stock_schedule is not None:
            step = f"schedule rule {rule_name(config.client_id, stock=True)}"
            undo.append(
                (step, lambda: _forget(delete_schedule(deployment, config.client_id, stock=True)))
            )
            put_schedule(
                deployment,
                config.client_id,
                config.stock_schedule,
                enabled=config.enabled,
                stock=True,
            )
    except Exception as exc:
        raise WriteFailed(_failure_message(config.client_id, step, exc, undo)) from None


def _forget(_: object) -> None:
    """Drop a result an undo step does not need."""


def _failure_message(
    client_id: str, step: str, exc: Exception, undo: list[tuple[str, Callable[[], None]]]
) -> str:
    undone, stuck = [], []
    for what, action in reversed(undo):
        try:
            action()
        except Exception as undo_error:
            stuck.append(f"{what} ({_reason(undo_error)})")
        else:
            undone.append(what)
    message = f"could not write the {step} of client {client_id}: {_reason(exc)}"
    if undone:
        message += "; removed again: " + ", ".join(undone)
    if stuck:
        message += "; could NOT remove, delete by hand: " + ", ".join(stuck)
    elif not undone:
        message += "; nothing had been written"
    return message


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return describe_client_error(exc)
    if isinstance(exc, OpsError | IntegrationError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _secret_remover(deployment: Deployment, name: str) -> Callable[[], None]:
    def remove() -> None:
        try:
            deployment.client("secretsmanager").delete_secret(
                SecretId=name, ForceDeleteWithoutRecovery=True
            )
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise

    return remove


def _delete_item(deployment: Deployment, client_id: str) -> None:
    deployment.client("dynamodb").delete_item(
        TableName=deployment.clients_table, Key={"client_id": {"S": client_id}}
    )


# --- reading ------------------------------------------------------------------------------


def secret_info(deployment: Deployment, name: str) -> SecretInfo:
    """Whether a secret exists (a secret scheduled for deletion still does) and when it changed."""
    try:
        described = deployment.client("secretsmanager").describe_secret(SecretId=name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return SecretInfo(name=name, exists=False)
        raise
    changed = described.get("LastChangedDate") or described.get("CreatedDate")
    return SecretInfo(name=name, exists=True, last_changed=platform_time(changed))


def checked_id(client_id: str) -> str:
    """The client id, checked before it names a key, secret or rule; InputError otherwise."""
    try:
        return validate_client_id(client_id)
    except InvalidClientConfig as exc:
        raise InputError(str(exc)) from None


def get_config(deployment: Deployment, client_id: str) -> ClientConfig:
    """The client's config; UnknownClient when it is not registered."""
    try:
        return deployment.config_store().get(checked_id(client_id))
    except ClientNotFound:
        raise UnknownClient(
            f"no client {client_id} at {deployment.where} (see `siesa client list`)"
        ) from None
    except InvalidClientConfig as exc:
        raise InputError(str(exc)) from None


@translate_aws_errors
def list_clients(*, deployment: Deployment | None = None) -> ClientList:
    """Every registered client with its schedule rule."""
    target = resolve(deployment)
    listing = target.config_store().list_clients()
    views = [
        ClientView(
            config=config,
            schedule=get_schedule(target, config.client_id),
            stock_schedule=_stock_rule(target, config),
        )
        for config in listing.clients
    ]
    return ClientList(clients=views, invalid=listing.invalid)


@translate_aws_errors
def show_client(client_id: str, *, deployment: Deployment | None = None) -> ClientView:
    """One client: config, schedule rule, and whether both secrets exist."""
    target = resolve(deployment)
    config = get_config(target, client_id)
    secrets = tuple(
        secret_info(target, name)
        for name in (config.siesa_credentials_secret, config.product_credentials_secret)
    )
    return ClientView(
        config=config,
        schedule=get_schedule(target, config.client_id),
        secrets=secrets,
        stock_schedule=_stock_rule(target, config),
    )


def _stock_rule(deployment: Deployment, config: ClientConfig) -> Schedule | None:
    """The stock-only rule; not asked for when the config names no stock schedule."""
    if config.stock_schedule is None:
        return None
    return get_schedule(deployment, config.client_id, stock=True)


@translate_aws_errors
def enable_client(client_id: str, *, deployment: Deployment | None = None) -> ClientView:
    """Enable the client and its schedule rule."""
    return _set_enabled(resolve(deployment), client_id, True)


@translate_aws_errors
def disable_client(client_id: str, *, deployment: Deployment | None = None) -> ClientView:
    """Disable the client and its schedule rule (syncs already running finish)."""
    return _set_enabled(resolve(deployment), client_id, False)


def _set_enabled(deployment: Deployment, client_id: str, enabled: bool) -> ClientView:
    checked = checked_id(client_id)
    try:
        config = deployment.config_store().set_enabled(checked, enabled)
    except ClientNotFound:
        raise UnknownClient(
            f"no client {client_id} at {deployment.where} (see `siesa client list`)"
        ) from None
    set_schedule_enabled(deployment, checked, enabled)
    if config.stock_schedule is not None:
        set_schedule_enabled(deployment, checked, enabled, stock=True)
    return ClientView(
        config=config,
        schedule=get_schedule(deployment, checked),
        stock_schedule=_stock_rule(deployment, config),
    )
