"""`siesa`: the one console script. Each command group lives with the code it drives."""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

import typer

from cli.client import client_app
from cli.demo import demo_command
from cli.deploy import mount_deploy_commands
from cli.local import local_app
from cli.mapping import map_app
from cli.reliability import mount as mount_reliability
from cli.run import run_app
from cli.sim import sim_app
from cli.status import status_command
from cli.sync import sync_command
from cli.versions import mount as mount_versions
from runtime.observability import install_log_scrubber, redact

app = typer.Typer(
    name="siesa",
    help="Siesa ERP integration platform: mappings, the local engine, and operations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
mount_versions(map_app)
app.add_typer(map_app, name="map")
app.add_typer(local_app, name="local")
app.add_typer(sim_app, name="sim")
app.add_typer(client_app, name="client")
app.add_typer(run_app, name="run")
app.command("sync")(sync_command)
app.command("status")(status_command)
app.command("demo")(demo_command)
mount_reliability(app)
mount_deploy_commands(app)


def main() -> None:
    """Entry point of the `siesa` console script; no log line or traceback shows a secret."""
    install_log_scrubber()
    sys.excepthook = scrubbed_excepthook
    app()


def scrubbed_excepthook(
    kind: type[BaseException], exc: BaseException, trace: TracebackType | None
) -> None:
    """Print an unexpected error's traceback as Python would, with secret values redacted."""
    text = "".join(traceback.format_exception(kind, exc, trace))
    sys.stderr.write(redact(text))
