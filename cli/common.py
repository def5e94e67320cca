"""What the operator commands share: the endpoint option, consoles, and one-line errors.

A mistake the operator can fix (unknown client, a bad file, nothing
listening at the endpoint) prints `error: ...` on stderr and exits 1; it
never shows a traceback. Everything a command prints for scripts goes to
stdout; progress and errors go to stderr. Both pass through the runtime's
scrubber (`runtime.observability.redact`): a secret value this process read
never reaches the terminal, even inside a server's error text.

Machine-readable output has one shape everywhere: a command that declares
`json_output: JsonFlag` gets, with `--json`, every document it prints
through `print_json` stamped with `schema_version`, and every error that
goes through `fail` / `operator_errors` printed on stdout as
`{"schema_version": N, "error": {"type", "message", "exit_code", "next_step"}}`
instead of the `error:` line; the exit code is the same either way. The
option's callback marks the running command (until its context closes), so a
new command gets both by declaring the flag.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from ops import Deployment, OpsError
from ops.advice import next_step_for
from ops.deployment import describe_client_error
from runtime.errors import IntegrationError
from runtime.observability import redact

EndpointUrl = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="AWS endpoint, e.g. the embedded AWS of `siesa local up`; "
        "default: $AWS_ENDPOINT_URL, else real AWS.",
        show_default=False,
    ),
]
SCHEMA_VERSION = 1
"""Version of every `--json` document's shape (docs/operations.md); raise it on a breaking change."""
_JSON_OUTPUT: ContextVar[bool] = ContextVar("siesa_json_output", default=False)
"""True while a command that was given `--json` runs."""


def _remember_json(ctx: typer.Context, value: bool) -> bool:
    """The `--json` option's callback: errors of this command are JSON too, until it ends."""
    if value:
        token = _JSON_OUTPUT.set(True)
        ctx.call_on_close(lambda: _JSON_OUTPUT.reset(token))
    return value


JsonFlag = Annotated[
    bool,
    typer.Option(
        "--json",
        help='Print one JSON object on stdout (errors too: {"error": ...}).',
        callback=_remember_json,
    ),
]


PIPE_WIDTH = 160
"""Width of tables written to a file or pipe (rich would assume 80 and cut ids short)."""


class ScrubbedText:
    """A text stream that writes through `redact`: what the CLI prints holds no secret value."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write `text` with every registered secret replaced."""
        return self.stream.write(redact(text))

    def flush(self) -> None:
        """Flush the stream."""
        self.stream.flush()

    def isatty(self) -> bool:
        """Whether the stream is a terminal (rich picks its width by it)."""
        return self.stream.isatty()


def _console(file: TextIO) -> Console:
    width = None if file.isatty() else PIPE_WIDTH
    return Console(file=ScrubbedText(file), soft_wrap=True, width=width)  # type: ignore[arg-type]


def out() -> Console:
    """stdout, for what a script reads."""
    return _console(sys.stdout)


def err() -> Console:
    """stderr, for progress, notes and errors."""
    return _console(sys.stderr)


def deployment_for(endpoint_url: str | None) -> Deployment:
    """The deployment the options point at."""
    return Deployment(endpoint_url)


def versioned(document: dict[str, Any]) -> dict[str, Any]:
    """The document with `schema_version` first (a document that has one keeps it)."""
    return {"schema_version": SCHEMA_VERSION, **document}


def print_json(document: dict[str, Any]) -> None:
    """One JSON object on stdout, on one line, nothing else; stamped with `schema_version`."""
    text = json.dumps(versioned(document), ensure_ascii=False, default=str)
    sys.stdout.write(redact(text) + "\n")
    sys.stdout.flush()


def json_mode() -> bool:
    """Whether the running command was given `--json` (False outside a command)."""
    return _JSON_OUTPUT.get()


def error_document(
    message: str, code: int, kind: str = "error", next_step: str | None = None
) -> dict[str, Any]:
    """What `--json` prints for an error: `{"error": {type, message, exit_code, next_step}}`."""
    return {"error": {"type": kind, "message": message, "exit_code": code, "next_step": next_step}}


def fail(
    message: str, code: int = 1, *, kind: str = "error", next_step: str | None = None
) -> typer.Exit:
    """Report an error (JSON on stdout under `--json`, else `error: ...` on stderr); returns the Exit.

    `kind` names the error for scripts (the exception's class name); `next_step`
    is the command or action that fixes it, printed as its own line.
    """
    if json_mode():
        print_json(error_document(message, code, kind, next_step))
        return typer.Exit(code)
    console = err()
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)
    if next_step:
        console.print(f"next step: {escape(next_step)}", highlight=False)
    return typer.Exit(code)


@contextmanager
def operator_errors(client_id: str | None = None) -> Iterator[None]:
    """Turn the failures an operator can act on into an error report and exit 1.

    With the `client_id` the command acts on, a refused credential or a
    missing secret also gets its next step (the secret and the command that
    replaces it, ops.advice).
    """
    try:
        yield
    except (OpsError, IntegrationError) as exc:
        kind = type(exc).__name__
        step = next_step_for(kind, client_id) if client_id else None
        raise fail(str(exc), kind=kind, next_step=step) from None
    except ClientError as exc:
        message = f"AWS refused the request ({describe_client_error(exc)})"
        raise fail(message, kind="AwsClientError") from None
    except BotoCoreError as exc:
        raise fail(f"AWS call failed: {exc}", kind="AwsCallFailed") from None


def read_text(path: Path, what: str) -> str:
    """A file's text; an OpsError naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OpsError(f"{what} file {path} does not exist") from None
    except IsADirectoryError:
        raise OpsError(f"{what} file {path} is a directory") from None
    except UnicodeDecodeError:
        raise OpsError(f"{what} file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise OpsError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None


def escape(text: str) -> str:
    """Keep rich from reading [brackets] in a message as markup."""
    return text.replace("[", r"\[")
