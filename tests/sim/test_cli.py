"""`siesa sim siesa|kong|wms` runs a simulator in the foreground until interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
LAUNCH = "from runtime.local.sim.cli import sim_app; sim_app(prog_name='siesa sim')"


@contextmanager
def _running(*args: str) -> Iterator[str]:
    """Start the command, wait for its `ready: URL` line, yield the URL, then Ctrl-C it."""
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
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0


def test_siesa_serves_a_seeded_catalog_with_the_given_key() -> None:
    with _running(
        "siesa", "--port", "0", "--products", "30", "--seed", "4", "--api-key", "k-1"
    ) as url:
        body = httpx.get(
            f"{url}/api/v1/inventory/products", headers={"Authorization": "Bearer k-1"}
        ).json()
        assert body["pagination"]["total_records"] == 30
        assert httpx.get(f"{url}/api/v1/inventory/products").status_code == 401


@pytest.mark.parametrize(
    ("command", "path", "headers"),
    [
        ("kong", "/api/v1/products/NOPE", {"X-API-Key": "k-2"}),
        ("wms", "/api/v1/inventory/items/NOPE", {"Authorization": "Bearer k-2"}),
    ],
)
def test_products_serve_with_the_given_key(command: str, path: str, headers: dict) -> None:
    with _running(command, "--api-key", "k-2") as url:
        assert httpx.get(url + path, headers=headers).status_code == 404
        assert httpx.get(url + path).status_code == 401
