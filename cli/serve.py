"""`siesa map serve [FILE]`: the playground page, on 127.0.0.1, for the engineer's own machine.

The page shows the `.map` text and, as it is typed, what it does to sample
ERP records (playground/). Mounted under `siesa map` by cli/mapping.py.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from cli.common import EndpointUrl, deployment_for, fail, operator_errors
from compiler.sources import common_root, read_map_bytes
from dsl.diagnostics import MapError
from dsl.source_text import decode_map_bytes
from playground.evaluate import Workspace
from playground.samples import MAX_RECORDS, Samples, from_examples, from_json_lines, from_run
from playground.server import Playground, PlaygroundServer

DEFAULT_PORT = 4195
"""The port `blobl server` uses too: one playground at a time, by habit."""
STARTER = "playground.map"
"""The name of the in-memory draft served when no FILE is given."""


def _workspace(file: Path | None) -> tuple[Workspace, str]:
    """The file to serve and its text; a small draft in memory when there is none."""
    from runtime.product_types import registered_product_types

    types = registered_product_types()
    if file is None:
        text = resources.files("playground").joinpath("static", "starter.map").read_text("utf-8")
        here = Path.cwd() / STARTER
        return Workspace(here, STARTER, common_root([here]), types), text
    try:
        text = decode_map_bytes(read_map_bytes(file), str(file))
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    except MapError as exc:
        typer.echo(exc.render(), err=True)
        raise typer.Exit(1) from None
    return Workspace(file, str(file), common_root([file]), types), text


def _samples(
    display: str, records: Path | None, client: str | None, endpoint_url: str | None
) -> Samples:
    """Where the page's records come from: --records, --client, else the file's examples."""
    if records is not None and client is not None:
        raise fail("give --records or --client, not both")
    if records is not None:
        try:
            return from_json_lines(records)
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read {records}: {exc}") from None
    if client is not None:
        from ops.run_records import last_run_records

        with operator_errors():
            run = last_run_records(
                client, limit=MAX_RECORDS, deployment=deployment_for(endpoint_url)
            )
        return from_run(run)
    return from_examples(display)


def serve_command(
    file: Annotated[
        Path | None,
        typer.Argument(help="the .map file; without one, a small draft held in memory"),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="the port on 127.0.0.1; 0 picks a free one")
    ] = DEFAULT_PORT,
    write: Annotated[
        bool,
        typer.Option("--write", help="save the edits to FILE, each time the text parses"),
    ] = False,
    records: Annotated[
        Path | None,
        typer.Option("--records", help=f"JSON-lines ERP records to map (the first {MAX_RECORDS})"),
    ] = None,
    client: Annotated[
        str | None,
        typer.Option("--client", help="map the records this client's last finished run extracted"),
    ] = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Serve a page that shows what a .map file does to ERP records as you type it.

    The records are the file's examples unless --records or --client says
    otherwise. Listens on 127.0.0.1 only; stop it with Ctrl-C.
    """
    if write and file is None:
        raise fail("--write saves to FILE: name the .map file to edit")
    if not 0 <= port <= 65535:
        raise fail(f"--port {port} is not a port number")
    workspace, text = _workspace(file)
    samples = _samples(workspace.display, records, client, endpoint_url)
    try:
        on_disk = None if file is None else text
        playground = Playground(workspace, samples, text, write, on_disk)
        server = PlaygroundServer(playground, port)
    except OSError as exc:
        raise fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    saving = "edits are saved when they parse" if write else "edits are not saved (--write)"
    typer.echo(f"serving {workspace.display} at {server.url}")
    typer.echo(f"records: {samples.description}; {saving}; Ctrl-C stops", err=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
