"""The embedded AWS: moto's server on loopback, executing state machines for real.

`LocalAws` starts `moto.server.ThreadedMotoServer` on 127.0.0.1 with Step
Functions' interpreter on and Lambda's Docker off, and routes every Lambda
invocation to our handlers in this process (`lambda_dispatch`). While it runs,
the process environment points boto3 at it (`AWS_ENDPOINT_URL`), carries dummy
credentials (so no real credentials can be sent anywhere by mistake), sets
`MOTO_PORT`, which moto's interpreter uses to call Lambda, DynamoDB and SNS, and
`ENVIRONMENT=local`, the one mark of the local engine (runtime.api_url: only
then may an API URL be plain http, and only to loopback). S3 refuses a wrong
`ExpectedBucketOwner` as AWS does (local/bucket_owner.py), and DynamoDB's
conditional writes are atomic, as on AWS (`moto_writes`).
Step Functions holds the 256 KB payload and 25,000-event history quotas as
AWS does (`sfn_quotas`). Each Lambda invocation has the function's configured
timeout (or `lambda_timeout`, or `SIESA_LOCAL_LAMBDA_TIMEOUT`); with
`isolated=True` (or `SIESA_LOCAL_ISOLATED=1`) it runs in a child process that
is killed at that timeout and answers `Sandbox.Timedout` (`lambda_sandbox`),
with the SDK's data parsed once here for every child (`sdk_models`).
With `record_invocations=True`, `invocations()` lists each invocation's
function, time, outcome and, isolated, the memory its child grew to
(`invocation_log`). Everything is restored on exit.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import socket
import threading
import warnings
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from functools import partial
from types import TracebackType
from typing import Any

import httpx
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

from local.bucket_owner import OwnerCheckingMotoServer, WsgiApp
from local.invocation_log import Invocation, InvocationLog
from local.lambda_dispatch import Handler, LambdaDispatcher, dispatching
from local.log_sink import LogGroupSink, install_log_sink, remove_log_sink
from local.moto_writes import atomic_writes
from local.sdk_models import preload
from local.sfn_quotas import HISTORY_EVENT_LIMIT, enforcing
from ops.deployment import EMBEDDED_AWS_KEY
from runtime.api_url import LOCAL_ENVIRONMENT
from runtime.aws import new_session
from runtime.settings import ENVIRONMENT_ENV, MAX_PAGE_CONCURRENCY_ENV

LOOPBACK = "127.0.0.1"
DEFAULT_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account

# What the process environment holds while the embedded AWS runs; None removes the variable.
_DUMMY_CREDENTIALS: dict[str, str | None] = {
    "AWS_ACCESS_KEY_ID": EMBEDDED_AWS_KEY,
    "AWS_SECRET_ACCESS_KEY": EMBEDDED_AWS_KEY,
    # removed, so no token or profile of the shell's takes part
    **dict.fromkeys(("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")),
}
# moto logs every request (werkzeug) and every failed state at ERROR with its cause: too chatty.
_QUIET_LOGGERS = ("werkzeug", "moto.stepfunctions")
# moto's CloudFormation logs and warns about each resource type it skips (alarms, bucket
# policies); provision() reports those itself.
_SKIPPED_RESOURCE_LOG = "No Moto CloudFormation support for"
_SKIPPED_RESOURCE_WARNING = r"Tried to parse AWS::.* but it's not supported by moto"


class _DropSkippedResourceLogs(logging.Filter):
    """Drops moto's per-resource 'No Moto CloudFormation support' lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_SKIPPED_RESOURCE_LOG)


_MOTO_LOG_FILTER = _DropSkippedResourceLogs()


LAMBDA_TIMEOUT_ENV = "SIESA_LOCAL_LAMBDA_TIMEOUT"
"""Seconds every Lambda invocation may run (default: each function's configured timeout)."""
ISOLATED_ENV = "SIESA_LOCAL_ISOLATED"
"""1: each invocation in a child process killed at its timeout; 0: in this process."""


class LocalAwsError(Exception):
    """The embedded AWS could not start or is used the wrong way."""


class LocalAws:
    """Moto's server on loopback with Step Functions executing and Lambda dispatched in-process.

    Use as a context manager; `port=0` picks a free port (see `.port` / `.url`).
    `isolated`: Lambda invocations in killable child processes (None: `SIESA_LOCAL_ISOLATED`,
    else off); `lambda_timeout`: seconds for every function (None: `SIESA_LOCAL_LAMBDA_TIMEOUT`,
    else each function's own); `history_limit`: Step Functions' history quota (lower it in tests);
    `record_invocations`: keep a record of each invocation (`invocations()`).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        handlers: Mapping[str, Handler | str] | None = None,
        region: str = DEFAULT_REGION,
        quiet: bool = True,
        isolated: bool | None = None,
        lambda_timeout: float | None = None,
        history_limit: int = HISTORY_EVENT_LIMIT,
        middleware: Callable[[WsgiApp], WsgiApp] | None = None,
        record_invocations: bool = False,
    ) -> None:
        self.region = region
        self._middleware = middleware
        self.dispatcher = LambdaDispatcher(
            handlers,
            isolated=isolated_from_env(default=False) if isolated is None else isolated,
            timeout_seconds=_timeout_from_env() if lambda_timeout is None else lambda_timeout,
            log=InvocationLog(enabled=record_invocations),
        )
        self._history_limit = history_limit
        self._requested_port = port
        self._quiet = quiet
        self._server: ThreadedMotoServer | None = None
        self._port: int | None = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_config: dict[str, Any] = {}
        self._saved_levels: dict[str, int] = {}
        self._warnings_guard: warnings.catch_warnings[None] | None = None
        self._dispatch: AbstractContextManager[LambdaDispatcher] | None = None
        self._writes: AbstractContextManager[None] | None = None
        self._log_sink: LogGroupSink | None = None
        self._quotas: AbstractContextManager[None] | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> LocalAws:
        """Start the server, switch moto's execution modes, point the process at it."""
        if self._server is not None:
            raise LocalAwsError("the embedded AWS is already running")
        self._dispatch = dispatching(self.dispatcher)
        self._dispatch.__enter__()
        self._writes = atomic_writes()
        self._writes.__enter__()
        try:
            self._quotas = enforcing(self._history_limit)
            self._quotas.__enter__()
            self._configure_moto()
            _check_port_free(self._requested_port)
            server = OwnerCheckingMotoServer(
                ip_address=LOOPBACK,
                port=self._requested_port,
                verbose=False,
                middleware=self._middleware,
            )
            server.start()
            self._server = server
            self._port = server.get_host_and_port()[1]
            self._point_environment()
            self.reset()
            self._log_sink = install_log_sink(self.account_id, self.region)
            if self.dispatcher.isolated:  # children inherit the SDK data parsed here, once
                self.dispatcher.before_first_child(partial(preload, self.region, self.url))
        except BaseException as exc:
            self.stop()
            if isinstance(exc, OSError):
                raise LocalAwsError(
                    f"cannot listen on {LOOPBACK}:{self._requested_port}: {exc.strerror or exc}"
                ) from exc
            raise
        return self

    def stop(self) -> None:
        """Stop the server and restore the environment, moto's config and its Lambda backend."""
        remove_log_sink(self._log_sink)
        self._log_sink = None
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(httpx.HTTPError):
                self._reset_at(f"http://{LOOPBACK}:{server.get_host_and_port()[1]}")
            server.stop()
        self._port = None
        with self._clients_lock:
            self._clients.clear()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}
        for section, value in self._saved_config.items():
            default_user_config[section] = value  # type: ignore[literal-required]
        self._saved_config = {}
        for logger_name, level in self._saved_levels.items():
            logging.getLogger(logger_name).setLevel(level)
        self._saved_levels = {}
        logging.getLogger("moto").removeFilter(_MOTO_LOG_FILTER)
        guard, self._warnings_guard = self._warnings_guard, None
        if guard is not None:
            guard.__exit__(None, None, None)
        quotas, self._quotas = self._quotas, None
        if quotas is not None:
            quotas.__exit__(None, None, None)
        writes, self._writes = self._writes, None
        if writes is not None:
            writes.__exit__(None, None, None)
        dispatch, self._dispatch = self._dispatch, None
        if dispatch is not None:
            dispatch.__exit__(None, None, None)

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what callers use --------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            raise LocalAwsError("the embedded AWS is not running")
        return self._port

    @property
    def url(self) -> str:
        """The endpoint URL (what `AWS_ENDPOINT_URL` is set to)."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def account_id(self) -> str:
        """The account every ARN of the embedded AWS carries."""
        return LOCAL_ACCOUNT_ID

    def client(self, service_name: str) -> Any:
        """A boto3 client bound to this server, whatever the environment says (one per service)."""
        url = self.url
        with self._clients_lock:
            found = self._clients.get(service_name)
            if found is None:
                found = new_session().client(
                    service_name,
                    region_name=self.region,
                    endpoint_url=url,
                    aws_access_key_id=EMBEDDED_AWS_KEY,
                    aws_secret_access_key=EMBEDDED_AWS_KEY,
                )
                self._clients[service_name] = found
            return found

    def client_in_account(self, service_name: str, account_id: str) -> Any:
        """A boto3 client acting as another account (a role assumed there): a stranger's view.

        moto maps the assumed role's credentials to that account, so what the
        client creates belongs to it (e.g. a bucket under a name we meant to use).
        """
        credentials = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/stranger", RoleSessionName="stranger"
        )["Credentials"]
        return new_session().client(
            service_name,
            region_name=self.region,
            endpoint_url=self.url,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    def reset(self) -> None:
        """Forget every resource: moto's state is per process and outlives a server."""
        self._reset_at(self.url)

    @staticmethod
    def _reset_at(url: str) -> None:
        httpx.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()

    def export(self, variables: Mapping[str, str]) -> None:
        """Put variables in the process environment until `stop` (e.g. STATE_MACHINE_ARN)."""
        if self._server is None:
            raise LocalAwsError("the embedded AWS is not running")
        self._set_environment(variables)

    def invocations(self) -> list[Invocation]:
        """The invocations recorded so far, in the order they ended (empty unless recording)."""
        return self.dispatcher.log.records()

    def clear_invocations(self) -> None:
        """Forget the invocations recorded so far (say, between two measured runs)."""
        self.dispatcher.log.clear()

    def register_handler(self, function_name: str, handler: Handler | str) -> None:
        """Run `handler` when Lambda function `function_name` is invoked."""
        self.dispatcher.register(function_name, handler)

    # --- internals ---------------------------------------------------------------------

    def _configure_moto(self) -> None:
        """State machines execute; Lambda runs without Docker (set before the server starts)."""
        for section in ("stepfunctions", "lambda"):
            self._saved_config[section] = copy.deepcopy(default_user_config.get(section, {}))
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        default_user_config["lambda"] = {"use_docker": False}
        if self._quiet:
            for logger_name in _QUIET_LOGGERS:
                logger = logging.getLogger(logger_name)
                self._saved_levels[logger_name] = logger.level
                logger.setLevel(logging.CRITICAL)
            logging.getLogger("moto").addFilter(_MOTO_LOG_FILTER)
            self._warnings_guard = warnings.catch_warnings()
            self._warnings_guard.__enter__()
            warnings.filterwarnings(
                "ignore", message=_SKIPPED_RESOURCE_WARNING, category=UserWarning
            )

    def _point_environment(self) -> None:
        """Every boto3 client of this process (handlers included) talks to the server."""
        wanted: dict[str, str | None] = {
            **_DUMMY_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "MOTO_PORT": str(self.port),
            # marks the local engine: API URLs may then be plain http to loopback (runtime.api_url)
            ENVIRONMENT_ENV: LOCAL_ENVIRONMENT,
        }
        if self.dispatcher.isolated and MAX_PAGE_CONCURRENCY_ENV not in os.environ:
            # each invocation is a child forked from this process, whose threads serve moto:
            # a fork while another page's request holds a lock here hangs the child on it, so
            # the Map state takes one page at a time (each page's loader has the client's
            # whole concurrency: runtime/handlers/load_part.py)
            wanted[MAX_PAGE_CONCURRENCY_ENV] = "1"
        self._set_environment(wanted)

    def _set_environment(self, variables: Mapping[str, str | None]) -> None:
        """Set (or with None, remove) variables, remembering the old values for `stop`."""
        for name, value in variables.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def isolated_from_env(*, default: bool) -> bool:
    """SIESA_LOCAL_ISOLATED as a flag (unset: `default`)."""
    value = os.environ.get(ISOLATED_ENV, "").strip().lower()
    if not value:
        return default
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise LocalAwsError(f"{ISOLATED_ENV} must be 1 or 0, not {value!r}")


def _timeout_from_env() -> float | None:
    """SIESA_LOCAL_LAMBDA_TIMEOUT in seconds (unset: each function's configured timeout)."""
    value = os.environ.get(LAMBDA_TIMEOUT_ENV, "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise LocalAwsError(
            f"{LAMBDA_TIMEOUT_ENV} must be a positive number of seconds, not {value!r}"
        )
    return seconds


def _check_port_free(port: int) -> None:
    """Refuse a taken port up front: moto's server thread would die and never report ready."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((LOOPBACK, port))
