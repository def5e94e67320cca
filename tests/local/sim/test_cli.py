"""`siesa sim siesa|kong|wms` runs a simulator in the foreground until interrupted."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from sim_process import running_sim


def test_siesa_serves_a_seeded_catalog_with_the_given_key() -> None:
    with running_sim(
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
    with running_sim(command, "--api-key", "k-2") as url:
        assert httpx.get(url + path, headers=headers).status_code == 404
        assert httpx.get(url + path).status_code == 401


def test_ctrl_c_stops_a_simulator_started_with_sigint_ignored() -> None:
    """A child inherits an ignored SIGINT (some test runners' workers ignore it): it still stops."""
    import signal
    import subprocess

    from sim_process import LAUNCH, REPO

    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "kong", "--api-key", "k-3"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ignore_sigint,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("ready: http://127.0.0.1:")
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        stopped_by_itself = True
    except subprocess.TimeoutExpired:
        stopped_by_itself = False
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert stopped_by_itself, "the simulator ignored Ctrl-C"
