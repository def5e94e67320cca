"""`siesa local up` as a real process, once per test module that asks for it."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from cli_support import LocalUp, start_local_up


@pytest.fixture(scope="module")
def local_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalUp]:
    """The embedded AWS in its own process, provisioned; stopped with SIGTERM at the end."""
    server = start_local_up(tmp_path_factory.mktemp("local-up") / "output.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
