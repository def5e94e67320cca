"""Shared builds of the deploy tests.

Building needs the manylinux wheels of the runtime's dependencies. They come
from the repository's wheel cache (build/wheels); a cold cache is filled from
PyPI once (one `pip download` for every missing wheel, under a lock, so
parallel workers never fetch twice) and later runs work offline. Without
network and without a filled cache, the build fails with a message naming
the missing wheels and how to fill the cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local.embedded_aws import LocalAws
from ops.deploy.build import DEFAULT_WHEEL_CACHE, Build, build_bundles
from ops.deploy.lambda_layout import link_provided_sdk, unpack


@pytest.fixture(scope="session")
def wheel_cache() -> Path:
    """The repository's wheel cache, reused across runs."""
    return DEFAULT_WHEEL_CACHE


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, wheel_cache: Path) -> Build:
    """`siesa bundle` of this checkout: the Lambda package and the mapping bundle."""
    return build_bundles(tmp_path_factory.mktemp("dist"), wheel_cache=wheel_cache)


@pytest.fixture(scope="session")
def lambda_dirs(tmp_path_factory: pytest.TempPathFactory, built: Build) -> tuple[Path, Path]:
    """(/var/task stand-in: the package unpacked, the Lambda runtime's SDK stand-in)."""
    root = tmp_path_factory.mktemp("lambda")
    task = unpack(built.package.path, root / "task")
    sdk = link_provided_sdk(root / "sdk")
    return task, sdk


@pytest.fixture()
def local_aws() -> Iterator[LocalAws]:
    """A fresh embedded AWS for one test."""
    with LocalAws() as aws:
        yield aws
