"""Where the operator commands act: one deployment, on real AWS or the embedded AWS.

The endpoint is the explicit `endpoint_url`, else `AWS_ENDPOINT_URL`, else
real AWS. Resource names come from the environment when it names them (the
`export` lines `siesa local up` prints), else from the CloudFormation stack's
outputs (the same template serves AWS and the embedded AWS), else the
documented defaults. Nothing is looked up until it is needed, and each
lookup happens once per `Deployment`.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from ops.errors import DeploymentError, EndpointError
from runtime import settings
from runtime.api_url import is_loopback_host
from runtime.aws import new_session
from runtime.bundle_trust import ManifestVerifier
from runtime.config_store import ConfigStore
from runtime.mapping_loader import BundleLoader
from runtime.runstore import RunStore
from runtime.sync_state import RunHistory

STACK_NAME_ENV = "SIESA_STACK_NAME"
DEFAULT_STACK_NAME = "siesa-integration"
SECRETS_KEY_ENV = "SECRETS_KMS_KEY_ARN"
SECRETS_KEY_OUTPUT = "SecretsKeyArn"
DEFAULT_SECRETS_KEY = "alias/siesa-integration-secrets"  # the stack's SecretsKeyAlias
EVENTBRIDGE_ROLE_NAME = "siesa-integration-eventbridge-role"
LOCAL_HINT = "start the embedded AWS with `siesa local up`, or pass --endpoint-url"
# The access key and secret key boto3 signs with on the embedded AWS, which accepts any:
# a placeholder that lets no credential lookup happen, not a secret.
EMBEDDED_AWS_KEY = "local"

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=60
)
_REFUSED_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "AccessDeniedException",
        "AccessDenied",
    }
)

P = ParamSpec("P")
R = TypeVar("R")

_session_lock = threading.Lock()
_session: boto3.session.Session | None = None


def _client_from_shared_session(service_name: str, arguments: dict[str, Any]) -> Any:
    """A client from one process-wide session: its loader reads each service model once.

    Creating a session per client re-reads botocore's JSON models (a quarter of a
    second each); sessions are not thread-safe, hence the lock. The embedded AWS
    accepts any key, so a loopback endpoint gets a dummy one and no credential
    lookup (a fresh shell may have none, and the lookup may wait on the network).
    """
    global _session
    if is_loopback_url(arguments.get("endpoint_url")):
        arguments = {
            **arguments,
            "aws_access_key_id": EMBEDDED_AWS_KEY,
            "aws_secret_access_key": EMBEDDED_AWS_KEY,
        }
    with _session_lock:
        if _session is None:
            _session = new_session()
        return _session.client(service_name, **arguments)


def is_loopback_url(url: str | None) -> bool:
    """True for http(s)://localhost or a loopback address: the embedded AWS."""
    host = urlsplit(url).hostname if url else None
    return host is not None and is_loopback_host(host)


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError ("" when it has none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe_client_error(exc: ClientError) -> str:
    """`Code: message` of an AWS error (AWS messages never echo secret values we sent)."""
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', '').strip() or 'no message'}"


@contextmanager
def reaching_aws(endpoint_url: str | None) -> Iterator[None]:
    """Turn 'nothing there' and 'who are you' failures into one-line EndpointErrors."""
    where = endpoint_url or "AWS"
    try:
        yield
    except EndpointConnectionError as exc:
        if endpoint_url is None:
            raise EndpointError(
                f"cannot reach AWS at {exc.kwargs.get('endpoint_url', '?')}: check the network "
                f"and AWS_REGION, or {LOCAL_HINT}"
            ) from None
        hint = f"; {LOCAL_HINT}" if is_loopback_url(endpoint_url) else ""
        raise EndpointError(f"nothing is listening at {where}{hint}") from None
    except (NoCredentialsError, PartialCredentialsError):
        raise EndpointError(
            f"no AWS credentials found for {where}: configure a profile, or {LOCAL_HINT}"
        ) from None
    except NoRegionError:
        raise EndpointError("no AWS region set: export AWS_REGION (e.g. us-east-1)") from None
    except ClientError as exc:
        if error_code(exc) in _REFUSED_CREDENTIALS:
            raise EndpointError(
                f"{where} refused the request ({describe_client_error(exc)})"
            ) from None
        raise


def translate_aws_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator for ops entry points: connection and credential failures become EndpointError."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        deployment = kwargs.get("deployment")
        endpoint = deployment.endpoint_url if isinstance(deployment, Deployment) else None
        with reaching_aws(endpoint or os.environ.get("AWS_ENDPOINT_URL") or None):
            return func(*args, **kwargs)

    return wrapper


class Deployment:
    """One deployment's clients and resource names, resolved lazily and once."""

    def __init__(
        self,
        endpoint_url: str | None = None,
        *,
        region: str | None = None,
        stack_name: str | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        self.region = settings.aws_region(region)
        self.stack_name = stack_name or os.environ.get(STACK_NAME_ENV) or DEFAULT_STACK_NAME
        self._clients: dict[str, Any] = {}
        self._outputs: dict[str, str] | None = None
        self._state_machine_arn: str | None = None
        self._eventbridge_role_arn: str | None = None

    @property
    def where(self) -> str:
        """The endpoint for messages: its URL, or "AWS"."""
        return self.endpoint_url or f"AWS ({self.region})"

    # --- clients -------------------------------------------------------------------

    def client(self, service_name: str) -> Any:
        """A boto3 client for this deployment's endpoint and region (one per service)."""
        found = self._clients.get(service_name)
        if found is None:
            arguments: dict[str, Any] = {"region_name": self.region, "config": _CLIENT_CONFIG}
            if self.endpoint_url:
                arguments["endpoint_url"] = self.endpoint_url
            found = _client_from_shared_session(service_name, arguments)
            self._clients[service_name] = found
        return found

    # --- names -----------------------------------------------------------------------

    def outputs(self) -> dict[str, str]:
        """The stack's outputs; {} when the stack does not exist here."""
        if self._outputs is None:
            try:
                stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)
            except ClientError as exc:
                if error_code(exc) != "ValidationError":  # "Stack ... does not exist"
                    raise
                stacks = {"Stacks": []}
            found = stacks.get("Stacks") or [{}]
            self._outputs = {
                item["OutputKey"]: item["OutputValue"] for item in found[0].get("Outputs", [])
            }
        return self._outputs

    def _named(self, env_name: str) -> str | None:
        """An ARN the environment names, when the environment describes this deployment.

        Variables such as MAPPINGS_SIGNING_KEY_ARN name resources of the one AWS
        that AWS_ENDPOINT_URL points at (`siesa local up` exports both together):
        a key or a state machine exists there only. A deployment reached at
        another endpoint (`--endpoint-url`) has its own: its stack outputs say
        which. (Table and bucket names are names, not resources of one engine:
        the environment's apply at any endpoint.)
        """
        if self.endpoint_url != (os.environ.get("AWS_ENDPOINT_URL") or None):
            return None
        return os.environ.get(env_name) or None

    def _name(self, env_name: str, output_key: str, default: str) -> str:
        return os.environ.get(env_name) or self.outputs().get(output_key) or default

    @property
    def clients_table(self) -> str:
        """The clients table's name."""
        return self._name(
            settings.CLIENTS_TABLE_ENV, "ClientsTableName", settings.DEFAULT_CLIENTS_TABLE
        )

    @property
    def runs_table(self) -> str:
        """The run history table's name."""
        return self._name(settings.RUNS_TABLE_ENV, "RunsTableName", settings.DEFAULT_RUNS_TABLE)

    @property
    def budgets_table(self) -> str | None:
        """The clients' shared request budgets table (runtime/budgets.py); None where there is none."""
        return os.environ.get(settings.BUDGETS_TABLE_ENV) or self.outputs().get("BudgetsTableName")

    @property
    def bucket(self) -> str:
        """The config and run-data bucket."""
        return self._name(
            settings.CONFIG_BUCKET_ENV, "ConfigBucketName", settings.DEFAULT_CONFIG_BUCKET
        )

    @property
    def secrets_key_id(self) -> str:
        """The KMS key client secrets are created with (the stack's `SecretsKey`).

        SECRETS_KMS_KEY_ARN, else the stack output, else the stack's alias: a
        secret is never left to the AWS-managed key.
        """
        named = self._named(SECRETS_KEY_ENV)
        return named or self.outputs().get(SECRETS_KEY_OUTPUT) or DEFAULT_SECRETS_KEY

    @property
    def state_machine_arn(self) -> str:
        """The workflow's ARN; DeploymentError when this deployment has none."""
        if self._state_machine_arn is None:
            arn = self._named(settings.STATE_MACHINE_ARN_ENV) or self.outputs().get(
                "StateMachineArn"
            )
            if not arn:
                arn = self._find_state_machine()
            try:
                self.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
            except ClientError as exc:
                if error_code(exc) not in ("StateMachineDoesNotExist", "InvalidArn"):
                    raise
                raise DeploymentError(
                    f"state machine {arn} does not exist at {self.where}; deploy the stack"
                    f"{' or ' + LOCAL_HINT if is_loopback_url(self.endpoint_url) else ''}"
                ) from None
            self._state_machine_arn = arn
        return self._state_machine_arn

    def _find_state_machine(self) -> str:
        paginator = self.client("stepfunctions").get_paginator("list_state_machines")
        for page in paginator.paginate():
            for machine in page.get("stateMachines", []):
                if machine["name"] == settings.DEFAULT_STATE_MACHINE_NAME:
                    return str(machine["stateMachineArn"])
        raise DeploymentError(
            f"no {settings.DEFAULT_STATE_MACHINE_NAME} state machine at {self.where} "
            f"(and no stack {self.stack_name}); deploy it, or {LOCAL_HINT}"
        )

    @property
    def eventbridge_role_arn(self) -> str:
        """The role the schedule rules start the workflow with; DeploymentError when missing."""
        if self._eventbridge_role_arn is None:
            arn = self.outputs().get("EventBridgeRoleArn")
            name = arn.rsplit("/", 1)[-1] if arn else EVENTBRIDGE_ROLE_NAME
            try:
                role = self.client("iam").get_role(RoleName=name)["Role"]
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise
                raise DeploymentError(
                    f"IAM role {name} does not exist at {self.where}; deploy the stack"
                ) from None
            self._eventbridge_role_arn = str(role["Arn"])
        return self._eventbridge_role_arn

    # --- the runtime's stores, bound to this deployment --------------------------------

    def config_store(self) -> ConfigStore:
        """Client configs."""
        return ConfigStore(self.clients_table, dynamodb=self.client("dynamodb"))

    def run_history(self) -> RunHistory:
        """Run history."""
        return RunHistory(self.runs_table, dynamodb=self.client("dynamodb"))

    def run_store(self) -> RunStore:
        """Run data (pages, reports, summaries)."""
        return RunStore(self.bucket, s3=self.client("s3"))

    @property
    def signing_key_arn(self) -> str | None:
        """The KMS key the mapping bundle must be signed with; None when nothing names one.

        MAPPINGS_SIGNING_KEY_ARN, else the stack output. On the embedded AWS the
        stack's key cannot sign (moto makes it symmetric): the key provisioning made
        in its place is found by its alias (ops/deploy/signing.py).
        """
        named = self._named(settings.MAPPINGS_SIGNING_KEY_ENV)
        if named:
            return named
        if is_loopback_url(self.endpoint_url):
            from ops.deploy.signing import EMBEDDED_KEY_ALIAS

            try:
                found = self.client("kms").describe_key(KeyId=EMBEDDED_KEY_ALIAS)
                return str(found["KeyMetadata"]["Arn"])
            except ClientError as exc:
                if error_code(exc) != "NotFoundException":
                    raise
        return self.outputs().get("MappingsSigningKeyArn")

    def bundles(self) -> BundleLoader:
        """The compiled mapping bundle, its signature verified with this deployment's key."""
        verifier = ManifestVerifier(self.signing_key_arn, kms=self.client("kms"))
        return BundleLoader(self.bucket, s3=self.client("s3"), verifier=verifier)


def resolve(deployment: Deployment | None) -> Deployment:
    """The given deployment, or one from the environment."""
    return deployment if deployment is not None else Deployment()
