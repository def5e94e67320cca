"""`siesa local up` serves a provisioned embedded AWS until Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from cli.local import StopSignal, local_app

REPO = Path(__file__).resolve().parents[2]
LAUNCH = "from cli.local import local_app; local_app(prog_name='siesa local')"
READY_DEADLINE_SECONDS = 120  # a guard against a hung start, not a speed check


def _start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for name in ("AWS_ENDPOINT_URL", "MOTO_PORT"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines_until_ready(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    while True:
        line = process.stdout.readline()
        if not line:
            stderr = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"exited before ready: {lines} {stderr}")
        lines.append(line.rstrip("\n"))
        if line.startswith("ready: "):
            return lines


def test_up_provisions_prints_exports_and_stops_cleanly_on_sigterm() -> None:
    process = _start("up", "--port", "0")
    try:
        lines = _lines_until_ready(process)
        url = lines[-1].removeprefix("ready: ")
        assert url.startswith("http://127.0.0.1:")
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert exports["AWS_ENDPOINT_URL"] == url
        assert exports["STATE_MACHINE_ARN"].endswith(":stateMachine:siesa-integration-workflow")
        assert any(line.startswith("mappings: ") for line in lines)
        # another process reaches it with exactly what was printed
        stepfunctions = boto3.client(
            "stepfunctions",
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            region_name=exports["AWS_DEFAULT_REGION"],
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        )
        machine = stepfunctions.describe_state_machine(stateMachineArn=exports["STATE_MACHINE_ARN"])
        assert machine["status"] == "ACTIVE"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err
    assert out.strip().endswith("stopped")
    assert "Traceback" not in err


def test_a_taken_port_exits_with_a_clear_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(local_app, ["up", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_a_broken_mapping_exits_before_serving(tmp_path: Path) -> None:
    (tmp_path / "broken.map").write_text("mapping broken {\n", encoding="utf-8")
    result = CliRunner().invoke(local_app, ["up", "--port", "0", "--mappings", str(tmp_path)])
    assert result.exit_code == 1
    assert "provisioning failed" in result.output
    assert "ready:" not in result.output


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_both_end_the_wait(stop_signal: signal.Signals) -> None:
    previous = signal.getsignal(stop_signal)
    with StopSignal() as stop:
        threading.Timer(0.1, os.kill, (os.getpid(), stop_signal)).start()
        stop.wait()
        assert stop.event.is_set()
    assert signal.getsignal(stop_signal) is previous
