"""`siesa sim ...` run as a real process on loopback, stopped with Ctrl-C like an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LAUNCH = "from cli.sim import sim_app; sim_app(prog_name='siesa sim')"


@contextmanager
def running_sim(*args: str) -> Iterator[str]:
    """Start the command, wait for its `ready: URL` line, yield the URL, then Ctrl-C it.

    The command must stop cleanly (exit code 0) on the interrupt.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ready: http://127.0.0.1:"), line + (
            process.stderr.read() if process.stderr else ""
        )
        yield line.removeprefix("ready: ").strip()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            # communicate, not wait: it drains both pipes, so a child with more to say
            # than a pipe holds (its request log) is never blocked writing while we wait
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
            raise AssertionError(
                f"the simulator did not stop on Ctrl-C: {stderr[-2000:]}"
            ) from None
    assert process.returncode == 0, stderr[-2000:]
