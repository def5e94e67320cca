"""`siesa sim siesa|kong|wms` runs a simulator in the foreground until interrupted."""

from __future__ import annotations

import sys
import time
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


def test_fault_settings_on_the_command_line_apply_from_the_first_request() -> None:
    headers = {"X-API-Key": "k-4"}
    with running_sim(
        "kong",
        "--api-key",
        "k-4",
        "--status-on",
        "/api/v1/products/bulk=500",
        "--down-after",
        "3",
        "--latency-ms",
        "60",
    ) as url:
        started = time.monotonic()
        assert httpx.get(f"{url}/api/v1/products/NOPE", headers=headers).status_code == 404
        assert time.monotonic() - started >= 0.06
        bulk = httpx.post(f"{url}/api/v1/products/bulk", headers=headers, json=[])
        assert bulk.status_code == 500
        assert httpx.get(f"{url}/api/v1/products/NOPE", headers=headers).status_code == 404
        assert httpx.get(f"{url}/api/v1/products/NOPE", headers=headers).status_code == 503


def test_clean_serves_a_catalog_without_invalid_records_and_fail_rate_fails_requests() -> None:
    from local.sim.catalog import generate_catalog

    assert len(generate_catalog(200, 1).invalid) == 4  # without --clean: 2% of 200
    with running_sim(
        "siesa", "--products", "200", "--clean", "--fail-rate", "1", "--api-key", "k-5"
    ) as url:
        assert httpx.get(f"{url}/_sim/state").json()["catalog"]["invalid"] == {}
        answer = httpx.get(
            f"{url}/api/v1/inventory/products", headers={"Authorization": "Bearer k-5"}
        )
        assert answer.status_code == 503


def test_a_bad_status_on_setting_is_refused_before_the_simulator_starts() -> None:
    from typer.testing import CliRunner

    from cli.sim import sim_app

    result = CliRunner().invoke(sim_app, ["kong", "--status-on", "products=500"])
    assert result.exit_code == 2
    assert "PATH=CODE" in result.output


def test_ctrl_c_under_load_stops_at_once_without_a_traceback() -> None:
    """Requests held back by latency are woken; the interrupt never surfaces as a traceback."""
    import signal
    import subprocess
    import threading

    from sim_process import LAUNCH, REPO

    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "kong", "--api-key", "k-6", "--latency-ms", "20000"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = ""
    try:
        assert process.stdout is not None
        url = process.stdout.readline().removeprefix("ready: ").strip()

        outcomes: list[str] = []

        def load() -> None:
            try:
                answer = httpx.get(
                    f"{url}/api/v1/products/X", headers={"X-API-Key": "k-6"}, timeout=30
                )
                outcomes.append(str(answer.status_code))
            except httpx.HTTPError as exc:
                outcomes.append(type(exc).__name__)

        callers = [threading.Thread(target=load) for _ in range(8)]
        for caller in callers:
            caller.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # every request is in and held back by the latency
            seen = httpx.get(f"{url}/_sim/faults").json()["requests_seen"]
            if seen == len(callers):
                break
            time.sleep(0.05)
        began = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        took = time.monotonic() - began
        for caller in callers:
            caller.join(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    assert took < 10, "stopping waited for the held-back requests"
    assert outcomes.count("404") == len(callers), outcomes


def test_a_catalog_can_start_when_its_stamps_stay_in_the_past() -> None:
    """`--catalog-start` places the first record's modification; the rest follow it."""
    with running_sim(
        "siesa", "--products", "5", "--api-key", "k-6", "--catalog-start", "2019-03-01T08:00:00"
    ) as url:
        body = httpx.get(
            f"{url}/api/v1/inventory/products", headers={"Authorization": "Bearer k-6"}
        ).json()
    stamps = sorted(str(record["f_fecha_modificacion"]) for record in body["data"])
    assert stamps[0].startswith("2019-03-01")
    assert all(stamp < "2019-03-02" for stamp in stamps)  # five records, at most an hour apart
