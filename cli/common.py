"""What the operator commands share: the endpoint option, consoles, and one-line errors.

A mistake the operator can fix (unknown client, a bad file, nothing
listening at the endpoint) prints `error: ...` on stderr and exits 1; it
never shows a traceback. Everything a command prints for scripts goes to
stdout; progress and errors go to stderr. Both pass through the runtime's
scrubber (`runtime.observability.redact`): a secret value this process read
never reaches the terminal, even inside a server's error text.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from ops import Deployment, OpsError
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
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


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


def print_json(document: Any) -> None:
    """One JSON object on stdout, on one line, nothing else."""
    sys.stdout.write(redact(json.dumps(document, ensure_ascii=False, default=str)) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `error: message` on stderr; returns the Exit to raise."""
    err().print(f"[bold red]error:[/] {_escape(message)}", highlight=False, markup=True)
    return typer.Exit(code)


@contextmanager
def operator_errors() -> Iterator[None]:
    """Turn the failures an operator can act on into `error: ...` and exit 1."""
    try:
        yield
    except (OpsError, IntegrationError) as exc:
        raise fail(str(exc)) from None
    except ClientError as exc:
        raise fail(f"AWS refused the request ({describe_client_error(exc)})") from None
    except BotoCoreError as exc:
        raise fail(f"AWS call failed: {exc}") from None


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


def _escape(text: str) -> str:
    """Keep rich from reading [brackets] in a message as markup."""
    return text.replace("[", r"\[")
