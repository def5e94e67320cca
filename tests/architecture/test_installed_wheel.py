"""The project works installed from its wheel, away from any checkout.

Build a wheel of the project's files (as `pip wheel` does for a release),
install it with `--target` into a directory of its own, and run an isolated
interpreter from another working directory that sees only that directory,
the virtualenv's site-packages (for the dependencies) and the standard
library. The template, the workflow definition, the Lambda lock file and the
mappings must come from the installed package data, and `siesa map check` must work on them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from mappings import MAPPINGS_DIR
from ops.deploy.lambda_layout import isolated_python

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json
import cli.app, infra, mappings, ops.deploy.lock
ours = ("cli", "ops", "local", "playground", "compiler", "dsl", "runtime", "contract", "infra", "mappings")
print(json.dumps({
    "origins": sorted(
        getattr(module, "__file__", None) or "?"
        for name, module in list(sys.modules.items())
        if name.split(".")[0] in ours
    ),
    "template": infra.TEMPLATE_PATH.is_file(),
    "definition": infra.DEFINITION_PATH.is_file(),
    "lock": ops.deploy.lock.read_lock().target,
    "mappings": str(mappings.MAPPINGS_DIR),
}), flush=True)
sys.argv = ["siesa", "map", "check", str(mappings.MAPPINGS_DIR)]
cli.app.main()
"""


def _pip(*args: str, cwd: Path) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _project_copy(dest: Path) -> Path:
    """The files a wheel is built from: pyproject.toml, README.md and the packages."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for init in ROOT.glob("*/__init__.py"):
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(init.parent, dest / init.parent.name, ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel installed (without dependencies) into a directory of its own."""
    work = tmp_path_factory.mktemp("wheel")
    source = _project_copy(work / "source")  # the build writes build/ and .egg-info there
    offline = ("--no-index", "--no-deps")
    _pip("wheel", *offline, "--no-build-isolation", "-w", str(work / "dist"), ".", cwd=source)
    (wheel,) = (work / "dist").glob("siesa_integration-*.whl")
    _pip("install", *offline, "--target", str(work / "site"), str(wheel), cwd=work)
    return work / "site"


def test_the_installed_package_reads_its_own_files_and_checks_its_mappings(
    installed: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dependencies = Path(sysconfig.get_paths()["purelib"])
    result = isolated_python([installed, dependencies], PROBE, cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-3000:]
    probe_line, *said = result.stdout.splitlines()
    probe = json.loads(probe_line)
    assert probe["template"] and probe["definition"]
    assert probe["lock"].startswith("python3.11")  # the Lambda lock file ships with the package
    assert Path(probe["mappings"]) == installed / "mappings"
    assert any(origin.endswith("/cli/app.py") for origin in probe["origins"])
    for origin in probe["origins"]:
        assert Path(origin).is_relative_to(installed), origin  # nothing from the checkout
    shipped = len(list(MAPPINGS_DIR.rglob("*.map")))
    assert said == [f"ok: {shipped} file(s) checked"]
