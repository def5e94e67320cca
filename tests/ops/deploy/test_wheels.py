"""The wheel cache, the pinned distributions and the target read from the template."""

from __future__ import annotations

import copy
import os
import shutil
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from ops.deploy.errors import BundleError
from ops.deploy.infra import load_template
from ops.deploy.lock import read_lock
from ops.deploy.requirements import Pin, normalize, runtime_pins, runtime_roots
from ops.deploy.target import LambdaTarget, target_of_template
from ops.deploy.wheels import ensure_wheels, find_cached, supported_tags

X86 = LambdaTarget((3, 11), "x86_64")
ARM = LambdaTarget((3, 11), "arm64")
CORE = Pin("pydantic-core", "2.50.4")
TENACITY = Pin("tenacity", "9.2.1")
LOCK = read_lock()


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_the_target_is_the_templates_runtime_and_architecture() -> None:
    target = target_of_template(load_template())
    assert target == X86
    assert target.pip_platform == "manylinux2014_x86_64"


def test_functions_that_disagree_on_architecture_are_refused() -> None:
    template: dict[str, Any] = copy.deepcopy(load_template())
    template["Resources"]["LoaderFunction"]["Properties"]["Architectures"] = ["arm64"]
    with pytest.raises(BundleError, match="disagree"):
        target_of_template(template)


def test_a_non_python_runtime_is_refused() -> None:
    template: dict[str, Any] = copy.deepcopy(load_template())
    for name in ("ExtractorFunction", "TransformerFunction", "LoaderFunction"):
        template["Resources"][name]["Properties"]["Runtime"] = "nodejs20.x"
    with pytest.raises(BundleError, match="not a Python runtime"):
        target_of_template(template)


def test_the_roots_are_the_dependencies_pyproject_declares() -> None:
    pyproject = Path(__file__).resolve().parents[3] / "pyproject.toml"
    with pyproject.open("rb") as handle:
        declared = tomllib.load(handle)["project"]["dependencies"]
    # read from the installed metadata: a pyproject.toml edited since `pip install` fails here
    assert runtime_roots(X86) == [normalize(Requirement(text).name) for text in declared]
    assert "boto3" in runtime_roots(X86)  # declared, then left to the Lambda runtime
    assert not {"lark", "jinja2", "typer", "pytest"} & set(runtime_roots(X86))  # extras


def test_pins_are_the_installed_versions_without_the_sdk() -> None:
    pins = {pin.name: pin.version for pin in runtime_pins(X86)}
    for name in (
        "pydantic",
        "pydantic-core",
        "httpx",
        "httpcore",
        "tenacity",
        "aws-lambda-powertools",
        "tzdata",
    ):
        assert pins[name] == metadata.version(name)
    assert not {"boto3", "botocore", "s3transfer"} & set(pins)
    assert "jmespath" in pins  # powertools needs it, so it travels even though the SDK has it too
    assert not {"click", "rich", "pygments"} & set(pins)  # httpx's CLI extra stays out


def test_the_cache_picks_the_wheel_for_the_targets_machine(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "pydantic_core-2.50.4-cp311-cp311-macosx_11_0_arm64.whl",
        "pydantic_core-2.50.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "pydantic_core-2.50.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "pydantic_core-2.50.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "pydantic_core-2.50.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "pydantic_core-2.50.4-cp311-cp311-musllinux_1_1_x86_64.whl",
        "not-a-wheel.txt.whl",
    )
    assert find_cached([CORE], tmp_path, X86)[CORE].path.name.endswith("manylinux2014_x86_64.whl")
    assert "aarch64" in find_cached([CORE], tmp_path, ARM)[CORE].path.name


def test_a_wheel_for_a_newer_glibc_than_manylinux2014_is_not_taken(tmp_path: Path) -> None:
    _touch(tmp_path, "pydantic_core-2.50.4-cp311-cp311-manylinux_2_28_x86_64.whl")
    assert find_cached([CORE], tmp_path, X86) == {}
    assert "cp311-cp311-manylinux_2_17_x86_64" in supported_tags(X86)
    assert "py3-none-any" in supported_tags(X86)


def test_a_filled_cache_builds_without_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wheel_cache: Path
) -> None:
    (real,) = ensure_wheels([TENACITY], wheel_cache, X86, LOCK)
    shutil.copy2(real.path, tmp_path / real.path.name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no index or find-links from pip.conf
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    wheels = ensure_wheels([TENACITY], tmp_path, X86, LOCK)
    assert [wheel.path.name for wheel in wheels] == ["tenacity-9.2.1-py3-none-any.whl"]


def test_a_missing_wheel_without_network_fails_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no index or find-links from pip.conf
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(BundleError) as failure:
        ensure_wheels([TENACITY], tmp_path / "cache", X86, LOCK)
    message = str(failure.value)
    assert "lacks tenacity==9.2.1" in message
    assert "manylinux2014_x86_64" in message
    assert "fill the cache once" in message
    assert not list((tmp_path / "cache").glob("*.whl"))


def test_the_re2_wheel_for_manylinux2014_is_taken_and_not_one_needing_glibc_2_28(
    tmp_path: Path,
) -> None:
    re2 = Pin("google-re2", "1.1")
    _touch(tmp_path, "google_re2-1.1-3-cp311-cp311-manylinux_2_28_x86_64.whl")
    assert find_cached([re2], tmp_path, X86) == {}
    _touch(tmp_path, "google_re2-1.1-3-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl")
    assert "manylinux2014_x86_64" in find_cached([re2], tmp_path, X86)[re2].path.name


def test_google_re2_is_a_runtime_pin_that_needs_nothing_else() -> None:
    pins = {pin.name: pin.version for pin in runtime_pins(X86)}
    assert pins["google-re2"] == "1.1"
    assert not metadata.requires("google-re2")
