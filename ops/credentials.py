"""A client's credentials, read through a deployment's own Secrets Manager client.

The operator commands that call the ERP or the product themselves
(`siesa reconcile`, `siesa replay`) read the same secrets as the handlers
and validate them with the same rules (runtime.secrets); only the client
differs, so `--endpoint-url` reaches the embedded AWS. Values are registered
for scrubbing and never shown: errors name the secret and the key.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ops.deployment import Deployment, error_code
from runtime import secrets
from runtime.config import ClientConfig, ProductCredentials, SiesaCredentials
from runtime.errors import InvalidSecret


def read_secret_values(deployment: Deployment, name: str) -> dict[str, Any]:
    """The secret `name` as a JSON object; InvalidSecret naming only the secret otherwise."""
    try:
        response = deployment.client("secretsmanager").get_secret_value(SecretId=name)
    except ClientError as exc:
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            raise InvalidSecret(f"secret {name!r} does not exist") from None
        raise InvalidSecret(f"secret {name!r} could not be read ({code})") from None
    raw = response.get("SecretString", response.get("SecretBinary"))
    return secrets.parse_secret(name, raw)


def siesa_credentials(deployment: Deployment, config: ClientConfig) -> SiesaCredentials:
    """The client's Siesa credentials, checked for its dialect."""
    values = read_secret_values(deployment, config.siesa_credentials_secret)
    return secrets.siesa_credentials_from(config, values)


def product_credentials(deployment: Deployment, config: ClientConfig) -> ProductCredentials:
    """The client's product credentials, checked to be for its product."""
    values = read_secret_values(deployment, config.product_credentials_secret)
    return secrets.product_credentials_from(config, values)
