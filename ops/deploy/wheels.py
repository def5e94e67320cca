"""The wheel cache: manylinux wheels for the Lambda platform, downloaded once and reused.

A wheel already in the cache for the pinned version and a tag the target
accepts is used as is, so a filled cache builds offline. Only missing wheels
are fetched, all in one `pip download --only-binary=:all: --platform ...
--no-deps` call. An exclusive lock on the cache keeps parallel builds (test
workers) from downloading the same file at once.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ops.deploy.errors import BundleError
from ops.deploy.requirements import Pin, normalize
from ops.deploy.target import LambdaTarget

LOCK_NAME = ".lock"
_PIP_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Wheel:
    """A cached wheel file and the pin it satisfies."""

    pin: Pin
    path: Path


def supported_tags(target: LambdaTarget) -> list[str]:
    """`interpreter-abi-platform` tags the target accepts, best first (pure wheels last)."""
    from packaging import tags

    platforms = target.platforms()
    found = list(
        tags.cpython_tags(
            python_version=target.python, abis=[target.python_tag], platforms=platforms
        )
    )
    found += list(
        tags.compatible_tags(
            python_version=target.python, interpreter=target.python_tag, platforms=platforms
        )
    )
    return [str(tag) for tag in found]


def _wheel_identity(path: Path) -> tuple[str, str, set[str]] | None:
    """(name, version, tags) of a wheel file name; None for anything else."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        name, version, _, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename:
        return None
    return normalize(name), str(version), {str(tag) for tag in tags}


def find_cached(pins: Sequence[Pin], cache: Path, target: LambdaTarget) -> dict[Pin, Wheel]:
    """The cached wheel of each pin that has one (the best tag wins)."""
    rank = {tag: index for index, tag in enumerate(supported_tags(target))}
    best: dict[Pin, tuple[int, Path]] = {}
    wanted = {(pin.name, pin.version): pin for pin in pins}
    for path in sorted(cache.glob("*.whl")) if cache.is_dir() else []:
        identity = _wheel_identity(path)
        if identity is None:
            continue
        name, version, tags = identity
        pin = wanted.get((name, version))
        scores = [rank[tag] for tag in tags if tag in rank]
        if pin is None or not scores:
            continue
        score = min(scores)
        if pin not in best or (score, path.name) < (best[pin][0], best[pin][1].name):
            best[pin] = (score, path)
    return {pin: Wheel(pin, path) for pin, (_, path) in best.items()}


@contextmanager
def locked(cache: Path) -> Iterator[None]:
    """Hold the cache's lock file exclusively (blocks until other builders finish)."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _download(pins: Sequence[Pin], cache: Path, target: LambdaTarget) -> None:
    """One `pip download` of the missing pins into the cache; BundleError with pip's reason."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        target.pip_platform,
        "--python-version",
        f"{target.python[0]}.{target.python[1]}",
        "--implementation",
        "cp",
        "--abi",
        target.python_tag,
        "--dest",
        str(cache),
        *(str(pin) for pin in pins),
    ]
    try:
        completed = subprocess.run(  # nosec B603 # this interpreter's pip, no shell: fixed options and pyproject's own pins
            command, capture_output=True, text=True, timeout=_PIP_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundleError(f"pip download did not finish: {exc}") from exc
    if completed.returncode != 0:
        reason = (completed.stderr or completed.stdout).strip().splitlines()
        tail = " | ".join(reason[-3:]) if reason else f"exit status {completed.returncode}"
        raise BundleError(
            f"the wheel cache {cache} lacks {', '.join(map(str, pins))} for {target.describe()}, "
            f"and downloading them failed ({tail}); fill the cache once with network access "
            "to PyPI, then builds work offline"
        )


def ensure_wheels(pins: Sequence[Pin], cache: Path, target: LambdaTarget) -> list[Wheel]:
    """A wheel for every pin, from the cache, downloading only the missing ones; sorted by name."""
    with locked(cache):
        found = find_cached(pins, cache, target)
        missing = [pin for pin in pins if pin not in found]
        if missing:
            _download(missing, cache, target)
            found = find_cached(pins, cache, target)
            still = [pin for pin in pins if pin not in found]
            if still:
                raise BundleError(
                    f"pip gave no {target.describe()} wheel for {', '.join(map(str, still))}"
                )
    return [found[pin] for pin in sorted(pins)]
