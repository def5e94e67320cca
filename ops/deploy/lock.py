"""The Lambda package's lock file: every distribution it carries, pinned, with its wheel's SHA-256.

`ops/deploy/lambda-requirements.lock` is a pip requirements file
(`name==version --hash=sha256:...`), one entry per distribution of
`runtime_pins` (ops/deploy/requirements.py), each with the hash of the one
wheel the package is built from on the template's Lambda platform. The
build reads it, checks it still names exactly the versions this install
runs, and packages only wheels whose SHA-256 it lists: a wheel fetched with
`pip download --require-hashes`, or one already in the cache, that hashes to
anything else is refused (`WheelHashMismatch`).

Regenerate it after changing pyproject.toml's dependencies (and installing
them):

    .venv/bin/python -m ops.deploy.lock

which downloads each pinned wheel for the Lambda platform from the
configured package index into a fresh directory (never from the build
cache) and writes the hashes it got. Review the diff like code: the hashes
are what the index served at that moment.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from infra import TEMPLATE_PATH
from ops.deploy.errors import BundleError
from ops.deploy.reprozip import sha256_file
from ops.deploy.requirements import Pin, normalize, runtime_pins
from ops.deploy.target import LambdaTarget, target_of_template

LOCK_PATH = Path(__file__).with_name("lambda-requirements.lock")
REGENERATE = ".venv/bin/python -m ops.deploy.lock"
_TARGET_LINE = "# target: "
_HASH = re.compile(r"^--hash=sha256:([0-9a-f]{64})$")


@dataclass(frozen=True)
class Lock:
    """Each pinned distribution and the SHA-256 (hex) of the wheels it may be built from."""

    target: str  # LambdaTarget.describe() of the platform the hashes are for
    hashes: Mapping[Pin, frozenset[str]]

    @property
    def pins(self) -> list[Pin]:
        """The locked distributions, sorted by name."""
        return sorted(self.hashes)

    def allows(self, pin: Pin, sha256: str) -> bool:
        """Whether a wheel hashing to `sha256` may stand for `pin`."""
        return sha256 in self.hashes.get(pin, frozenset())

    def requirements(self, pins: Iterable[Pin]) -> str:
        """The lock's lines for `pins` alone, as `pip download -r` reads them."""
        return "".join(_entry(pin, self.hashes[pin]) for pin in sorted(pins))


def _entry(pin: Pin, hashes: Iterable[str]) -> str:
    lines = [str(pin)] + [f"    --hash=sha256:{digest}" for digest in sorted(hashes)]
    return " \\\n".join(lines) + "\n"


def render_lock(target: LambdaTarget, hashes: Mapping[Pin, Iterable[str]]) -> str:
    """The lock file's text: a header naming the target and how to regenerate, then the entries."""
    header = (
        "# The Lambda package's distributions, each with the SHA-256 of the wheel it is built from.\n"
        f"# Generated from pyproject.toml's dependencies; do not edit. Regenerate: {REGENERATE}\n"
        f"{_TARGET_LINE}{target.describe()}\n"
    )
    return header + "".join(_entry(pin, hashes[pin]) for pin in sorted(hashes))


def parse_lock(text: str, where: str = str(LOCK_PATH)) -> Lock:
    """A lock file's entries; BundleError naming the line that is not `name==version --hash=...`."""
    target = ""
    hashes: dict[Pin, frozenset[str]] = {}
    logical = text.replace("\\\n", " ").splitlines()
    for number, line in enumerate(logical, start=1):
        if line.startswith(_TARGET_LINE):
            target = line.removeprefix(_TARGET_LINE).strip()
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        pin = _pin(words[0], where)
        found = [_HASH.match(word) for word in words[1:]]
        if not found or None in found:
            raise BundleError(
                f"{where}: entry {number} ({words[0]}) must be followed by --hash=sha256:<64 hex> "
                f"options only; regenerate it: {REGENERATE}"
            )
        hashes[pin] = frozenset(match.group(1) for match in found if match is not None)
    if not target:
        raise BundleError(f"{where}: no '{_TARGET_LINE.strip()}' line; regenerate it: {REGENERATE}")
    return Lock(target, hashes)


def _pin(text: str, where: str) -> Pin:
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        requirement = None
    specifiers = list(requirement.specifier) if requirement is not None else []
    if requirement is None or len(specifiers) != 1 or specifiers[0].operator != "==":
        raise BundleError(f"{where}: {text!r} is not an exact pin (name==version)")
    return Pin(normalize(requirement.name), specifiers[0].version)


def read_lock(path: Path = LOCK_PATH) -> Lock:
    """The lock file at `path`; BundleError when it is missing or malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(
            f"cannot read the lock file {path} ({exc.strerror or exc}); create it: {REGENERATE}"
        ) from None
    return parse_lock(text, str(path))


def check_lock(lock: Lock, pins: Sequence[Pin], target: LambdaTarget) -> None:
    """BundleError unless the lock is for `target` and names exactly `pins` (the installed versions)."""
    if lock.target != target.describe():
        raise BundleError(
            f"the lock file is for {lock.target}, the template's functions are "
            f"{target.describe()}; regenerate it: {REGENERATE}"
        )
    locked, wanted = set(lock.hashes), set(pins)
    if locked != wanted:
        differences = [f"+{pin}" for pin in sorted(wanted - locked)]
        differences += [f"-{pin}" for pin in sorted(locked - wanted)]
        raise BundleError(
            "the lock file does not name the versions this install runs "
            f"({', '.join(differences)}); regenerate it: {REGENERATE}"
        )


def generate(target: LambdaTarget, pins: Sequence[Pin], wheel_dir: Path) -> str:
    """The lock text for `pins`: each pin's wheel fetched fresh into `wheel_dir`, then hashed."""
    from ops.deploy.wheels import download, find_cached

    download(pins, wheel_dir, target)
    found = find_cached(pins, wheel_dir, target)
    missing = [str(pin) for pin in pins if pin not in found]
    if missing:
        raise BundleError(f"pip gave no {target.describe()} wheel for {', '.join(missing)}")
    return render_lock(target, {pin: [sha256_file(found[pin].path)] for pin in pins})


def main(argv: Sequence[str] | None = None) -> int:
    """Write the lock file for the template's Lambda platform and this install's pins."""
    parser = argparse.ArgumentParser(prog="python -m ops.deploy.lock", description=__doc__)
    parser.add_argument("--out", type=Path, default=LOCK_PATH, help="where to write the lock")
    arguments = parser.parse_args(argv)
    from ops.deploy.infra import load_template

    target = target_of_template(load_template(TEMPLATE_PATH))
    try:
        with tempfile.TemporaryDirectory(prefix="siesa-lock-") as scratch:
            text = generate(target, runtime_pins(target), Path(scratch))
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    arguments.out.write_text(text, encoding="utf-8")
    print(f"wrote {arguments.out} for {target.describe()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
