"""Which distributions the Lambda package carries, pinned to the versions this install runs.

The roots are the project's own dependencies, declared once in pyproject.toml's
`[project] dependencies` (the extras hold the tooling) and read here from the
installed project's metadata. Their dependencies are walked through the
installed metadata too, with markers evaluated for the Lambda platform, so the
package holds exactly the versions the tests ran against.

The AWS SDK (boto3, botocore, s3transfer) is left out on purpose: the Lambda
Python runtime provides it, the runtime uses only long-stable calls of S3,
DynamoDB and Secrets Manager, and leaving it out keeps the package a few MB
instead of tens. A dependency the SDK shares with another root (jmespath, for
powertools) is still packaged, and shadows the runtime's copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata

from packaging.requirements import Requirement

from ops.deploy.errors import BundleError
from ops.deploy.target import LambdaTarget

PROJECT = "siesa-integration"
PROVIDED_BY_LAMBDA = ("boto3", "botocore", "s3transfer")


@dataclass(frozen=True, order=True)
class Pin:
    """One distribution at one version."""

    name: str  # normalised (PEP 503)
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def normalize(name: str) -> str:
    """PEP 503 name: lower case, runs of `-_.` as one `-`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(name: str) -> metadata.Distribution:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise BundleError(
            f"{name} is needed in the Lambda package but is not installed here; "
            "install the project (pip install -e .) first"
        ) from None


def needed(requirements: Iterable[str], environment: Mapping[str, str]) -> list[str]:
    """The names of the requirements whose markers hold in `environment` (no extra asked for;
    the keys it lacks are this machine's)."""
    names: list[str] = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(dict(environment)):
            names.append(normalize(requirement.name))
    return names


def runtime_roots(target: LambdaTarget, project: str = PROJECT) -> list[str]:
    """The project's own dependencies on `target`, from its installed metadata, extras left out."""
    return needed(_installed(project).requires or [], target.marker_environment())


def runtime_pins(
    target: LambdaTarget,
    roots: Sequence[str] | None = None,
    provided: Sequence[str] = PROVIDED_BY_LAMBDA,
) -> list[Pin]:
    """Every distribution the roots (default: `runtime_roots`) need on `target`, at the
    installed versions, sorted by name."""
    environment = target.marker_environment()
    skipped = {normalize(name) for name in provided}
    pins: dict[str, Pin] = {}
    pending = [normalize(name) for name in (roots if roots is not None else runtime_roots(target))]
    while pending:
        name = pending.pop()
        if name in pins or name in skipped:
            continue
        distribution = _installed(name)
        pins[name] = Pin(name, distribution.version)
        pending.extend(needed(distribution.requires or [], environment))
    return sorted(pins.values())
