"""Credentials from Secrets Manager (`siesa-integration/{client_id}/{system}`), never shown.

Secrets are fetched through Powertools parameters and cached per container
for a short TTL (SECRETS_TTL_SECONDS, 300 s by default), with the
secretsmanager client the caller gives (a handler's: its tenant session's,
runtime/tenant_session.py) or the ambient one. A secret that is
missing, not a JSON object, or lacks a key is an `InvalidSecret` that names
the secret and the key; no message ever carries a secret value (pydantic's
errors echo their input, so only their location and message are kept).
Every value read is registered with `runtime.observability` so that log
lines scrub it even if it strayed into one.

The cache never hides a changed secret: `siesa client set-credentials` stamps
the client item's `credentials_version`, every invocation reads the item
afresh, and a secret cached under another stamp is fetched again at once.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from runtime import aws, observability, settings
from runtime.config import ClientConfig, ProductCredentials, SiesaCredentials, validate_client_id
from runtime.errors import InvalidSecret

SECRET_PREFIX = "siesa-integration"  # nosec B105 # the prefix of the secrets' names, not a secret value
SIESA_SYSTEM = "siesa"
NOT_SECRET_KEYS = frozenset(
    {"api_url", "product_type", "tenant_id", "username", "database_type", "service_endpoints"}
)
"""Keys whose values are identifiers, not secrets: not scrubbed from logs."""

REQUIRED_SIESA_KEYS: dict[str, tuple[str, ...]] = {
    "rest": ("api_key",),
    "connekta": ("conni_key", "conni_token"),
}
"""Keys the Siesa secret must hold, per dialect."""

M = TypeVar("M", bound=BaseModel)

MAX_PROVIDERS = 64
"""Clients (one per tenant session) whose secrets a container keeps cached."""

_lock = threading.Lock()
_providers: OrderedDict[int, tuple[Any, SecretsProvider]] = OrderedDict()
_stamps: dict[tuple[int, str], str | None] = {}
"""The `credentials_version` each cached secret was read under, per provider and name."""


def secret_name(client_id: str, system: str) -> str:
    """`siesa-integration/{client_id}/{system}`, refusing ids that could change the path."""
    client_id = validate_client_id(client_id)
    if system != SIESA_SYSTEM:
        from runtime.product_types import registered_product_types

        if system not in registered_product_types():
            raise InvalidSecret(f"no secret system {system!r}: expected siesa or a product type")
    return f"{SECRET_PREFIX}/{client_id}/{system}"


def _secrets_provider(secretsmanager: Any | None = None) -> SecretsProvider:
    """One provider (and so one TTL cache) per secretsmanager client: per tenant session."""
    client = secretsmanager if secretsmanager is not None else aws.client("secretsmanager")
    with _lock:
        found = _providers.get(id(client))
        if found is None or found[0] is not client:
            found = (client, SecretsProvider(boto3_client=client))
            _providers[id(client)] = found
            while len(_providers) > MAX_PROVIDERS:
                _providers.popitem(last=False)
        _providers.move_to_end(id(client))
        return found[1]


def clear_cache() -> None:
    """Forget cached secret values (an operator rotated a secret; tests)."""
    with _lock:
        _providers.clear()
        _stamps.clear()


def _error_code(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", "unknown"))
    return type(cause).__name__ if cause is not None else "unknown"


_UNSEEN = object()


def _stale(provider: SecretsProvider, name: str, version: str | None) -> bool:
    """True when `name` was cached under another credentials stamp (or never read): fetch again."""
    with _lock:
        seen = _stamps.get((id(provider), name), _UNSEEN)
        _stamps[(id(provider), name)] = version
    return seen is _UNSEEN or seen != version


def read_secret(
    name: str, *, secretsmanager: Any | None = None, version: str | None = None
) -> dict[str, Any]:
    """The secret `name` as a JSON object; InvalidSecret (naming only the secret) otherwise.

    `version` is the client's `credentials_version`: a value cached under
    another one is not used.
    """
    try:
        provider = _secrets_provider(secretsmanager)
        raw = provider.get(
            name,
            max_age=settings.secrets_ttl_seconds(),
            force_fetch=_stale(provider, name, version),
        )
    except GetParameterError as exc:
        code = _error_code(exc)
        if code == "ResourceNotFoundException":
            raise InvalidSecret(f"secret {name!r} does not exist") from None
        raise InvalidSecret(f"secret {name!r} could not be read ({code})") from None
    return parse_secret(name, raw)


def parse_secret(name: str, raw: object) -> dict[str, Any]:
    """A secret's stored value as a JSON object, its strings registered for scrubbing.

    For callers that fetch the value themselves (the operator commands, with
    their deployment's own client). InvalidSecret naming only the secret when
    the value is not UTF-8 text holding a JSON object.
    """
    if isinstance(raw, bytes | bytearray):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidSecret(f"secret {name!r} is not UTF-8 text") from None
    if not isinstance(raw, str):
        raise InvalidSecret(f"secret {name!r} holds no text")
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidSecret(
            f"secret {name!r} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidSecret(f"secret {name!r} must be a JSON object, not a {type(parsed).__name__}")
    observability.register_secret(*secret_strings(parsed))
    return parsed


def secret_strings(value: Any, key: str | None = None) -> Iterator[str]:
    """Every string leaf of a secret, except the values of identifier keys."""
    if key in NOT_SECRET_KEYS:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for child_key, child in value.items():
            yield from secret_strings(child, str(child_key))
    elif isinstance(value, list):
        for child in value:
            yield from secret_strings(child, key)


def _parse(model: type[M], name: str, values: dict[str, Any]) -> M:
    """Validate a secret's JSON; errors name the key and never its value."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            where = ".".join(str(part) for part in error["loc"])
            message = (
                "missing"
                if error["type"] == "missing"
                else error["msg"].removeprefix("Value error, ")
            )
            problems.append(f"key {where!r}: {message}" if where else message)
        raise InvalidSecret(f"secret {name!r}: " + "; ".join(problems)) from None


def get_siesa_credentials(
    config: ClientConfig, *, secretsmanager: Any | None = None
) -> SiesaCredentials:
    """The client's Siesa credentials, with the keys its dialect needs."""
    name = secret_name(config.client_id, SIESA_SYSTEM)
    values = read_secret(name, secretsmanager=secretsmanager, version=config.credentials_version)
    return siesa_credentials_from(config, values)


def siesa_credentials_from(config: ClientConfig, values: dict[str, Any]) -> SiesaCredentials:
    """Validate the Siesa secret's JSON for the client's dialect (errors name keys, never values)."""
    name = secret_name(config.client_id, SIESA_SYSTEM)
    credentials = _parse(SiesaCredentials, name, values)
    missing = [
        key
        for key in REQUIRED_SIESA_KEYS[config.siesa_dialect]
        if not getattr(credentials, key, None)
    ]
    if missing:
        raise InvalidSecret(
            f"secret {name!r}: key {missing[0]!r}: missing (the {config.siesa_dialect} dialect needs "
            + ", ".join(REQUIRED_SIESA_KEYS[config.siesa_dialect])
            + ")"
        )
    return credentials


def get_product_credentials(
    config: ClientConfig, *, secretsmanager: Any | None = None
) -> ProductCredentials:
    """The client's product credentials; their product_type must be the client's."""
    name = secret_name(config.client_id, config.product_type)
    values = read_secret(name, secretsmanager=secretsmanager, version=config.credentials_version)
    return product_credentials_from(config, values)


def product_credentials_from(config: ClientConfig, values: dict[str, Any]) -> ProductCredentials:
    """Validate the product secret's JSON: it must be for the client's product type."""
    name = secret_name(config.client_id, config.product_type)
    credentials = _parse(ProductCredentials, name, values)
    if credentials.product_type != config.product_type:
        raise InvalidSecret(
            f"secret {name!r}: key 'product_type': is {credentials.product_type!r}, "
            f"the client's product is {config.product_type!r}"
        )
    return credentials
