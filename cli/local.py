"""`siesa local ...`: run the embedded AWS in the foreground.

`siesa local up` starts moto's server on 127.0.0.1, provisions it from
infra/template.yaml, uploads the compiled mappings, prints `ready: URL` and
the exports another shell needs, and serves until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from local.embedded_aws import LocalAws, LocalAwsError, isolated_from_env
from local.provision import ProvisionError, ProvisionResult, provision
from mappings import MAPPINGS_DIR
from ops.deploy.infra import InfraError
from ops.deployment import EMBEDDED_AWS_KEY
from runtime.api_url import LOCAL_ENVIRONMENT
from runtime.settings import ENVIRONMENT_ENV

local_app = typer.Typer(
    name="local",
    help="The embedded AWS (moto) that runs the workflow on this machine.",
    no_args_is_help=True,
)


@local_app.callback()
def _group() -> None:
    """The embedded AWS (moto) that runs the workflow on this machine."""


def _say(line: str) -> None:
    """One line on stdout, flushed at once: scripts wait for `ready:`."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _exports(aws: LocalAws, result: ProvisionResult) -> list[str]:
    """Shell lines that point another terminal's `siesa` commands and boto3 at this server."""
    variables = {
        "AWS_ENDPOINT_URL": aws.url,
        "AWS_DEFAULT_REGION": aws.region,
        # dummy values: boto3 signs every request, the embedded AWS accepts any key
        "AWS_ACCESS_KEY_ID": EMBEDDED_AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": EMBEDDED_AWS_KEY,
        # the local engine's mark: clients on the simulators may use http://127.0.0.1
        ENVIRONMENT_ENV: LOCAL_ENVIRONMENT,
        **result.environment,
    }
    return [f"export {name}={value}" for name, value in variables.items()]


class StopSignal:
    """Set by SIGINT or SIGTERM; installed before anything starts so no signal is lost."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignal:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()

    def wait(self) -> None:
        """Block until a signal arrives (waking up now and then, as signal handling needs)."""
        while not self.event.wait(timeout=0.5):
            pass


@local_app.command("up")
def up(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one).")
    ] = 4566,
    mappings: Annotated[
        Path,
        typer.Option(help="Directory of .map files compiled and uploaded to the config bucket."),
    ] = MAPPINGS_DIR,
) -> None:
    """Start the embedded AWS, provision it, and serve until interrupted."""
    with StopSignal() as stop:
        # each Lambda invocation in a child process killed at its timeout, as on AWS
        aws = LocalAws(port, isolated=isolated_from_env(default=True))
        try:
            aws.start()
        except LocalAwsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        try:
            try:
                result = provision(aws, mappings_dir=mappings)
            except (ProvisionError, InfraError) as exc:
                typer.echo(f"error: provisioning failed: {exc}", err=True)
                raise typer.Exit(1) from exc
            _report(result, mappings)
            for line in _exports(aws, result):
                _say(line)
            _say(f"ready: {aws.url}")
            stop.wait()
        finally:
            aws.stop()
    _say("stopped")


def _report(result: ProvisionResult, mappings: Path) -> None:
    """What was provisioned, and what moto does not emulate."""
    if result.mapping_manifest is None:
        _say(f"note: no .map files in {mappings}; no mapping bundle uploaded")
    else:
        bucket = result.outputs["ConfigBucketName"]
        _say(f"mappings: {len(result.mapping_keys)} files under s3://{bucket}/mappings/")
    if result.skipped_resources:
        kinds = sorted(set(result.skipped_resources.values()))
        _say(f"note: not emulated locally: {', '.join(kinds)}")
