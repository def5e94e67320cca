"""Helpers of the CLI tests: `siesa` as a real process, and the in-process runner."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from cli.app import app

REPO = Path(__file__).resolve().parents[2]
READY_DEADLINE_SECONDS = 120.0  # a guard against a server that never comes up, not a speed check


def siesa_env(**extra: str) -> dict[str, str]:
    """The environment of a `siesa` subprocess: this checkout importable, nothing pointing at AWS."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in ("MOTO_PORT", "STATE_MACHINE_ARN")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def siesa_command(*args: str) -> list[str]:
    """`siesa ARGS...` as a process of this interpreter (works with or without an install)."""
    return [sys.executable, "-m", "cli", *args]


@dataclass
class LocalUp:
    """A running `siesa local up` process and where its output goes."""

    process: subprocess.Popen[bytes]
    output: Path
    url: str = ""

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> str:
        deadline = time.monotonic() + READY_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            for line in self.text().splitlines():
                if line.startswith("ready: "):
                    self.url = line.removeprefix("ready: ").strip()
                    return self.url
            if self.process.poll() is not None:
                raise AssertionError(f"siesa local up exited early:\n{self.text()}")
            time.sleep(0.1)
        raise AssertionError(f"siesa local up never printed ready:\n{self.text()}")


def start_local_up(output: Path) -> LocalUp:
    """`siesa local up --port 0`, its output (handler logs included) in a file, not a pipe."""
    with output.open("wb") as sink:
        process = subprocess.Popen(
            siesa_command("local", "up", "--port", "0"),
            cwd=REPO,
            env=siesa_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return LocalUp(process, output)


def runner() -> CliRunner:
    """The in-process runner (stdout and stderr kept apart)."""
    return CliRunner()


__all__ = ["LocalUp", "app", "runner", "siesa_command", "siesa_env", "start_local_up"]
