"""Which distributions the Lambda package carries, pinned to the versions this install runs.

The roots are the runtime's direct dependencies (docs/architecture.md: pydantic,
httpx, tenacity, powertools, and tzdata for `zoneinfo`). Their dependencies are
walked through the installed metadata, with markers evaluated for the Lambda
platform, so the package holds exactly the versions the tests ran against.

The AWS SDK (boto3, botocore, s3transfer) is left out on purpose: the Lambda
Python runtime provides it, the runtime uses only long-stable calls of S3,
DynamoDB and Secrets Manager, and leaving it out keeps the package a few MB
instead of tens. A dependency the SDK shares with another root (jmespath, for
powertools) is still packaged, and shadows the runtime's copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata

from ops.deploy.errors import BundleError
from ops.deploy.target import LambdaTarget

RUNTIME_DISTRIBUTIONS = ("pydantic", "httpx", "tenacity", "aws-lambda-powertools", "tzdata")
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


def runtime_pins(
    target: LambdaTarget,
    roots: tuple[str, ...] = RUNTIME_DISTRIBUTIONS,
    provided: tuple[str, ...] = PROVIDED_BY_LAMBDA,
) -> list[Pin]:
    """Every distribution the roots need on `target`, at the installed versions, sorted by name."""
    try:
        from packaging.requirements import Requirement
    except ImportError as exc:  # installed with pip and pytest; not declared by the project
        raise BundleError(
            "building the Lambda package needs the 'packaging' distribution: pip install packaging"
        ) from exc
    environment = target.marker_environment()
    skipped = {normalize(name) for name in provided}
    pins: dict[str, Pin] = {}
    pending = [normalize(name) for name in roots]
    while pending:
        name = pending.pop()
        if name in pins or name in skipped:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise BundleError(
                f"{name} is needed in the Lambda package but is not installed here; "
                "install the project (pip install -e .) first"
            ) from None
        pins[name] = Pin(name, distribution.version)
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            pending.append(normalize(requirement.name))
    return sorted(pins.values())
