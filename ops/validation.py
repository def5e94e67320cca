"""Checks of what an operator hands `siesa client add`, before anything is written.

Pure functions (no AWS): parse the three JSON documents, validate the client
config and both credentials with the runtime's own models, and check that
they agree with each other. Every error names the document and the field or
key; a credentials error never shows a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from ops.errors import InputError
from runtime import observability
from runtime.api_url import is_loopback_host
from runtime.config import ClientConfig, ProductCredentials, SiesaCredentials
from runtime.config_store import validate_config
from runtime.errors import InvalidClientConfig
from runtime.secrets import REQUIRED_SIESA_KEYS, secret_strings

RULE_PREFIX = "siesa-integration-"
RULE_SUFFIX = "-schedule"
STOCK_RULE_SUFFIX = "-stock"
"""The stock-only schedule's rule: shorter than RULE_SUFFIX, so every client id fits both."""
MAX_RULE_NAME = 64
MAX_CLIENT_ID_FOR_RULE = MAX_RULE_NAME - len(RULE_PREFIX) - len(RULE_SUFFIX)

PLATFORM_FIELDS = (
    "credentials_version",
    "last_sync_timestamp",
    "last_sync_status",
    "last_sync_records",
    "last_sync_watermark",
    "last_sync_run_id",
    "created_at",
    "updated_at",
)
"""Client fields the platform writes; an operator's config leaves them out."""

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")

JsonInput = str | bytes | Mapping[str, Any]


@dataclass(frozen=True)
class NewClient:
    """A client ready to be written: its config and both credentials, all checked."""

    config: ClientConfig
    siesa_credentials: dict[str, Any]
    product_credentials: dict[str, Any]

    @property
    def rule_name(self) -> str:
        """The client's EventBridge schedule rule."""
        return rule_name(self.config.client_id)


def rule_name(client_id: str, *, stock: bool = False) -> str:
    """`siesa-integration-{client_id}-schedule` (design document §7), or its stock-only `-stock`."""
    return f"{RULE_PREFIX}{client_id}{STOCK_RULE_SUFFIX if stock else RULE_SUFFIX}"


def load_json(document: JsonInput, what: str) -> dict[str, Any]:
    """A JSON object from text, bytes or a mapping; InputError naming `what` otherwise.

    A parse error gives the position, never the text (the document may be a secret).
    """
    if isinstance(document, Mapping):
        return dict(document)
    try:
        parsed = json.loads(document)
    except UnicodeDecodeError:
        raise InputError(f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(parsed, dict):
        kind = "an array" if isinstance(parsed, list) else f"a {type(parsed).__name__}"
        raise InputError(f"{what} must be a JSON object, not {kind}")
    return parsed


def _problems(exc: ValidationError, word: str) -> str:
    """One clause per problem, naming the field/key; input values are never echoed."""
    clauses = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in error["loc"]) or "document"
        message = "missing" if error["type"] == "missing" else error["msg"]
        clauses.append(f"{word} {where!r}: {message.removeprefix('Value error, ')}")
    return "; ".join(clauses)


def check_schedule(expression: str, field: str = "sync_schedule") -> str:
    """EventBridge's own rules on top of the config's: `rate(1 hour)` but `rate(6 hours)`."""
    where = f"client config: field {field!r}"
    match = _RATE.fullmatch(expression)
    if match:
        value, unit = int(match.group(1)), match.group(2)
        if value < 1:
            raise InputError(f"{where}: a rate must be at least 1")
        if (value == 1) == unit.endswith("s"):
            fixed = f"rate({value} {unit.rstrip('s') if value == 1 else unit + 's'})"
            raise InputError(
                f"{where}: EventBridge needs {fixed!r} (singular unit for 1, plural otherwise)"
            )
    elif expression.startswith("cron("):
        fields = expression[len("cron(") : -1].split()
        if len(fields) != 6:
            raise InputError(
                f"{where}: an EventBridge cron has 6 fields "
                "(minutes hours day-of-month month day-of-week year), e.g. cron(0 */6 * * ? *)"
            )
    return expression


def check_config(document: JsonInput) -> ClientConfig:
    """The client config, validated as the clients table will hold it."""
    values = load_json(document, "client config")
    given = sorted(field for field in PLATFORM_FIELDS if field in values)
    if given:
        raise InputError(
            f"client config: field {given[0]!r} is written by the platform; leave "
            + ", ".join(given)
            + " out"
        )
    try:
        config = validate_config(values)
    except InvalidClientConfig as exc:
        raise InputError(str(exc)) from None
    if len(config.client_id) > MAX_CLIENT_ID_FOR_RULE:
        raise InputError(
            f"client config: field 'client_id': at most {MAX_CLIENT_ID_FOR_RULE} characters, "
            f"so that its schedule rule name ({rule_name('<client_id>')}) fits EventBridge's "
            f"{MAX_RULE_NAME}"
        )
    check_schedule(config.sync_schedule)
    if config.stock_schedule is not None:
        check_schedule(config.stock_schedule, "stock_schedule")
    return config


def _parse_secret(model: type[BaseModel], values: dict[str, Any], what: str) -> Any:
    """The credentials validated; their values registered first, so no output of this process shows them."""
    observability.register_secret(*secret_strings(values))
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InputError(f"{what}: {_problems(exc, 'key')}") from None


def _same_url(given: str | None, expected: str) -> bool:
    return given is None or given.rstrip("/") == expected.rstrip("/")


def check_siesa_credentials(document: JsonInput, config: ClientConfig) -> dict[str, Any]:
    """The Siesa secret's JSON, with the keys the client's dialect needs."""
    what = "Siesa credentials"
    values = load_json(document, what)
    credentials: SiesaCredentials = _parse_secret(SiesaCredentials, values, what)
    for key in REQUIRED_SIESA_KEYS[config.siesa_dialect]:
        secret = getattr(credentials, key, None)
        if secret is None or not secret.get_secret_value().strip():
            needed = ", ".join(REQUIRED_SIESA_KEYS[config.siesa_dialect])
            raise InputError(
                f"{what}: key {key!r}: missing (the {config.siesa_dialect} dialect needs {needed})"
            )
    if not _same_url(credentials.api_url, config.siesa_api_url):
        raise InputError(
            f"{what}: key 'api_url' differs from the client config's siesa_api_url "
            f"({config.siesa_api_url}); make them the same or leave api_url out"
        )
    return values


def check_product_credentials(document: JsonInput, config: ClientConfig) -> dict[str, Any]:
    """The product secret's JSON: for the client's product, at the client's product URL."""
    what = "product credentials"
    values = load_json(document, what)
    credentials: ProductCredentials = _parse_secret(ProductCredentials, values, what)
    if credentials.product_type != config.product_type:
        raise InputError(
            f"{what}: key 'product_type' is {credentials.product_type!r}, but the client's "
            f"product is {config.product_type!r}"
        )
    if not credentials.api_key.get_secret_value().strip():
        raise InputError(f"{what}: key 'api_key': must not be empty")
    if not _same_url(credentials.api_url, config.product_api_url):
        raise InputError(
            f"{what}: key 'api_url' differs from the client config's product_api_url "
            f"({config.product_api_url}); make them the same"
        )
    check_same_host_family(what, credentials.service_endpoints, config.product_api_url)
    return values


def check_same_host_family(what: str, endpoints: Mapping[str, str], api_url: str) -> None:
    """Every service endpoint is loopback exactly when the product's api_url is.

    Each endpoint already passed the api_url rules (runtime.api_url: https
    outside loopback); this keeps one client's credentials from going to a
    public host beside a loopback api_url, or to loopback beside a public one.
    """
    local = is_loopback_host(urlsplit(api_url).hostname or "")
    for name, url in sorted(endpoints.items()):
        if is_loopback_host(urlsplit(url).hostname or "") != local:
            family = "loopback" if local else "public"
            raise InputError(
                f"{what}: key 'service_endpoints.{name[:64]}': must name a {family} host like "
                f"the client config's product_api_url ({api_url})"
            )


def check_new_client(
    config_json: JsonInput, siesa_credentials_json: JsonInput, product_credentials_json: JsonInput
) -> NewClient:
    """All three documents checked, alone and against each other (no AWS involved)."""
    config = check_config(config_json)
    siesa = check_siesa_credentials(siesa_credentials_json, config)
    product = check_product_credentials(product_credentials_json, config)
    return NewClient(config=config, siesa_credentials=siesa, product_credentials=product)
