"""Changing a registered client: its schedules, its credentials, or removing it altogether.

Each change is checked by the same rules as `siesa client add` (ops/validation.py)
before anything is written. New credentials take effect at the next invocation:
the secret gets a new value and the client item a new `credentials_version`,
which the handlers compare with the stamp their cached secret was read under
(runtime/secrets.py). Removing a client deletes its rules first (no new run
starts), then its secrets (with a recovery window), then its item; its run
data in S3 and run history expire by their own lifecycle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from botocore.exceptions import ClientError

from ops.clients import ClientView, checked_id, get_config, secret_info, show_client
from ops.deployment import Deployment, error_code, resolve, translate_aws_errors
from ops.errors import InputError, UnknownClient
from ops.schedule import delete_schedule, put_schedule
from ops.validation import (
    JsonInput,
    check_product_credentials,
    check_schedule,
    check_siesa_credentials,
    rule_name,
)
from runtime.errors import ClientNotFound, InvalidClientConfig
from runtime.secrets import SECRET_PREFIX

DEFAULT_RECOVERY_DAYS = 30
"""Days Secrets Manager keeps a removed client's secrets restorable (7..30)."""
STOCK_OFF = "off"
"""`siesa client set-schedule ID off --stock` removes the stock-only schedule."""

System = Literal["siesa", "product"]


# --- schedules ----------------------------------------------------------------------------


@translate_aws_errors
def set_schedule(
    client_id: str, expression: str, *, stock: bool = False, deployment: Deployment | None = None
) -> ClientView:
    """Change the client's main (or stock-only) schedule and its rule; `off` drops the stock one."""
    target = resolve(deployment)
    config = get_config(target, client_id)
    field_name = "stock_schedule" if stock else "sync_schedule"
    new: str | None = expression.strip()
    if stock and new == STOCK_OFF:
        new = None
    else:
        check_schedule(str(new), field_name)
    try:
        config = target.config_store().set_schedule(config.client_id, new, stock=stock)
    except InvalidClientConfig as exc:
        raise InputError(str(exc)) from None
    if new is None:
        delete_schedule(target, config.client_id, stock=True)
    else:
        put_schedule(target, config.client_id, new, enabled=config.enabled, stock=stock)
    return show_client(config.client_id, deployment=target)


# --- limits -------------------------------------------------------------------------------


@translate_aws_errors
def set_limits(
    client_id: str,
    limits: Mapping[str, int | Decimal | None],
    *,
    deployment: Deployment | None = None,
) -> ClientView:
    """Change a client's request budgets, concurrency or alert threshold; the next run reads them.

    None puts a field back to its default. Checked by the config's own rules
    before anything is written (InputError naming the field).
    """
    if not limits:
        raise InputError("nothing to change: give at least one limit (see --help)")
    target = resolve(deployment)
    config = get_config(target, client_id)
    try:
        target.config_store().set_limits(config.client_id, limits)
    except InvalidClientConfig as exc:
        raise InputError(str(exc)) from None
    return show_client(config.client_id, deployment=target)


# --- credentials --------------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialsChange:
    """Which secret got a new value, and the stamp the handlers will see."""

    client_id: str
    secret_name: str
    credentials_version: str

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json` (the secret by name only)."""
        return {
            "client_id": self.client_id,
            "secret": self.secret_name,
            "credentials_version": self.credentials_version,
        }


@translate_aws_errors
def set_credentials(
    client_id: str,
    system: System,
    document: JsonInput,
    *,
    deployment: Deployment | None = None,
) -> CredentialsChange:
    """Validate new Siesa or product credentials, write the secret, and stamp the client item.

    The same checks as `client add` (keys for the client's dialect, product
    type and URLs agreeing with the config); nothing is written when they fail.
    """
    target = resolve(deployment)
    config = get_config(target, client_id)
    if system == "siesa":
        values = check_siesa_credentials(document, config)
        name = config.siesa_credentials_secret
    else:
        values = check_product_credentials(document, config)
        name = config.product_credentials_secret
    if not secret_info(target, name).exists:
        raise InputError(
            f"secret {name} does not exist; remove the client (`siesa client remove "
            f"{config.client_id}`) and add it again"
        )
    written = target.client("secretsmanager").put_secret_value(
        SecretId=name, SecretString=json.dumps(values)
    )
    version = f"{system}:{written['VersionId']}"
    target.config_store().stamp_credentials(config.client_id, version)
    return CredentialsChange(config.client_id, name, version)


# --- removing -----------------------------------------------------------------------------


@dataclass
class Removal:
    """What `remove_client` deleted (or, when asked first, would delete)."""

    client_id: str
    rules: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    item: bool = False
    recovery_days: int = DEFAULT_RECOVERY_DAYS

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "client_id": self.client_id,
            "rules": self.rules,
            "secrets": self.secrets,
            "item": self.item,
            "secrets_recovery_days": self.recovery_days,
        }


@translate_aws_errors
def removal_plan(client_id: str, *, deployment: Deployment | None = None) -> Removal:
    """What `remove_client` would delete: rules, secrets (not yet scheduled for deletion), item."""
    target = resolve(deployment)
    checked = checked_id(client_id)
    plan = Removal(client_id=checked)
    for stock in (False, True):
        name = rule_name(checked, stock=stock)
        try:
            target.client("events").describe_rule(Name=name)
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
        else:
            plan.rules.append(name)
    plan.secrets = _live_secrets(target, checked)
    plan.item = _item_exists(target, checked)
    if not (plan.rules or plan.secrets or plan.item):
        raise UnknownClient(f"no client {checked} at {target.where} (see `siesa client list`)")
    return plan


@translate_aws_errors
def remove_client(
    client_id: str,
    *,
    recovery_days: int = DEFAULT_RECOVERY_DAYS,
    deployment: Deployment | None = None,
) -> Removal:
    """Delete the client's rules, its secrets (restorable for `recovery_days`) and its item."""
    if not 7 <= recovery_days <= 30:
        raise InputError("the secrets' recovery window must be 7 to 30 days")
    target = resolve(deployment)
    plan = removal_plan(client_id, deployment=target)
    plan.recovery_days = recovery_days
    for stock in (False, True):
        delete_schedule(target, plan.client_id, stock=stock)
    secrets = target.client("secretsmanager")
    for name in plan.secrets:
        secrets.delete_secret(SecretId=name, RecoveryWindowInDays=recovery_days)
    target.client("dynamodb").delete_item(
        TableName=target.clients_table, Key={"client_id": {"S": plan.client_id}}
    )
    return plan


def _live_secrets(deployment: Deployment, client_id: str) -> list[str]:
    """`siesa-integration/{client_id}/*` secrets not already scheduled for deletion."""
    prefix = f"{SECRET_PREFIX}/{client_id}/"
    names = []
    paginator = deployment.client("secretsmanager").get_paginator("list_secrets")
    for page in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
        for entry in page.get("SecretList", []):
            name = str(entry.get("Name", ""))
            if name.startswith(prefix) and not entry.get("DeletedDate"):
                names.append(name)
    return sorted(names)


def _item_exists(deployment: Deployment, client_id: str) -> bool:
    try:
        deployment.config_store().get(client_id)
    except ClientNotFound:
        return False
    except InvalidClientConfig:
        return True
    return True
