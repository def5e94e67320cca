"""The wheel cache: manylinux wheels for the Lambda platform, downloaded once and reused.

Every wheel the package is built from must hash to a SHA-256 the lock file
lists for its pin (ops/deploy/lock.py), wherever it came from. A wheel
already in the cache for the pinned version and a tag the target accepts is
checked and used, so a filled cache builds offline; one that hashes to
anything else is refused (`WheelHashMismatch`), never packaged. Only missing
wheels are fetched, all in one `pip download --require-hashes
--only-binary=:all: --platform ... --no-deps -r <their lock lines>` call,
and checked again once written. An exclusive lock on the cache keeps
parallel builds (test workers) from downloading the same file at once.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ops.deploy.errors import BundleError, WheelHashMismatch
from ops.deploy.reprozip import sha256_file
from ops.deploy.requirements import Pin, normalize
from ops.deploy.target import LambdaTarget

if TYPE_CHECKING:
    from ops.deploy.lock import Lock

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


def _pip_download(arguments: Sequence[str], cache: Path, target: LambdaTarget) -> list[str] | None:
    """Run `pip download` for the target's platform into `cache`; pip's output lines when it fails."""
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
        *arguments,
    ]
    try:
        completed = subprocess.run(  # nosec B603 # this interpreter's pip, no shell: fixed options and pyproject's own pins
            command, capture_output=True, text=True, timeout=_PIP_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundleError(f"pip download did not finish: {exc}") from exc
    if completed.returncode == 0:
        return None
    said = (completed.stderr or completed.stdout).strip().splitlines()
    return said or [f"exit status {completed.returncode}"]


def _tail(lines: Sequence[str]) -> str:
    return " | ".join(line.strip() for line in lines[-3:])


def _offline_hint(pins: Sequence[Pin], cache: Path, target: LambdaTarget, said: list[str]) -> str:
    return (
        f"the wheel cache {cache} lacks {', '.join(map(str, pins))} for {target.describe()}, "
        f"and downloading them failed ({_tail(said)}); fill the cache once with network access "
        "to PyPI, then builds work offline"
    )


def download(pins: Sequence[Pin], cache: Path, target: LambdaTarget) -> None:
    """`pip download` of `pins` without hashes: only for writing the lock file (ops/deploy/lock.py)."""
    said = _pip_download([str(pin) for pin in pins], cache, target)
    if said is not None:
        raise BundleError(_offline_hint(pins, cache, target, said))


def _download_locked(pins: Sequence[Pin], cache: Path, target: LambdaTarget, lock: Lock) -> None:
    """One `pip download --require-hashes` of `pins` into the cache, from their lock lines."""
    with tempfile.TemporaryDirectory(prefix="siesa-lock-") as scratch:
        requirements = Path(scratch) / "requirements.txt"
        requirements.write_text(lock.requirements(pins), encoding="utf-8")
        said = _pip_download(["--require-hashes", "-r", str(requirements)], cache, target)
    if said is None:
        return
    # pip: "THESE PACKAGES DO NOT MATCH THE HASHES ...", then "Expected sha256 ... Got ..."
    if any("DO NOT MATCH THE HASHES" in line for line in said):
        raise WheelHashMismatch(
            f"pip refused a wheel for {', '.join(map(str, pins))} that does not match the "
            f"lock file's SHA-256 ({_tail(said)}); the index or a --find-links directory "
            "serves other bytes than the ones locked"
        )
    raise BundleError(_offline_hint(pins, cache, target, said))


def _checked(wheel: Wheel, lock: Lock) -> Wheel:
    """The wheel, when its SHA-256 is one the lock allows for its pin; WheelHashMismatch otherwise."""
    digest = sha256_file(wheel.path)
    if not lock.allows(wheel.pin, digest):
        raise WheelHashMismatch(
            f"wheel {wheel.path} hashes to {digest}, which the lock file does not list for "
            f"{wheel.pin}; it is not packaged. Delete it from the cache (a download "
            "brings the locked one), or regenerate the lock if the pin changed"
        )
    return wheel


def ensure_wheels(
    pins: Sequence[Pin], cache: Path, target: LambdaTarget, lock: Lock
) -> list[Wheel]:
    """A wheel for every pin, each hashing to what `lock` lists for it, sorted by name.

    From the cache when it holds one, downloading only the missing ones with
    `pip download --require-hashes`; WheelHashMismatch for a wheel, cached or
    fetched, whose SHA-256 the lock does not list.
    """
    unlocked = [str(pin) for pin in pins if pin not in lock.hashes]
    if unlocked:
        raise BundleError(f"the lock file does not name {', '.join(unlocked)}")
    with locked(cache):
        found = find_cached(pins, cache, target)
        missing = [pin for pin in pins if pin not in found]
        if missing:
            _download_locked(missing, cache, target, lock)
            found = find_cached(pins, cache, target)
            still = [pin for pin in pins if pin not in found]
            if still:
                raise BundleError(
                    f"pip gave no {target.describe()} wheel for {', '.join(map(str, still))}"
                )
        return [_checked(found[pin], lock) for pin in sorted(pins)]
