"""Headless Chromium driven by Selenium with Debian's chromedriver, and `siesa map serve` as a process.

Nothing is downloaded: the browser and its driver are the system's
(`apt-get install chromium chromium-driver`; `make test` installs them when it
can), and the driver's path is given explicitly so Selenium Manager never runs.
Where they are missing the browser tests skip, naming what to install.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
MISSING = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
SKIP_REASON = (
    "headless Chromium is not installed (missing "
    + ", ".join(MISSING)
    + "): apt-get install chromium chromium-driver, or run `make test` as root or with sudo"
)
SCREENSHOTS = REPO / "docs" / "images"
WANT_SCREENSHOTS = os.environ.get("SIESA_SCREENSHOTS") == "1"
START_DEADLINE_SECONDS = 60.0  # a guard against a server that never starts, not a speed check


def chrome_driver() -> object:
    """A headless Chromium session through the system's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root in a container, Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


@dataclass
class Served:
    """A running `siesa map serve` and the page's address."""

    process: subprocess.Popen[str]
    url: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_serve(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Served:
    """`siesa map serve ARGS --port 0` in `cwd`; returns once it printed its address."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), environment.get("PYTHONPATH")])
    )
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "map", "serve", *args, "--port", "0"],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_DEADLINE_SECONDS)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("serving "):
        process.kill()
        _, errors = process.communicate()
        raise AssertionError(f"siesa map serve did not start: {line!r}\n{errors}")
    return Served(process, line.rsplit(" at ", 1)[1].strip())
