"""Helpers of the deploy tests: one deploy call onto an embedded AWS, Lambda's code hash."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from local.embedded_aws import LocalAws
from ops.deploy.build import Build
from ops.deploy.deploy import DeployReport, DeployRequest, deploy
from ops.deploy.stack import StackEvent
from ops.deployment import Deployment

STACK = "siesa-test"
ARTIFACTS = "siesa-integration-artifacts-123456789012-us-east-1"
CONFIG = "siesa-integration-config"
STRANGER = "210987654321"  # another account, for buckets it creates under our names
SIGNING_PROFILE = (
    "arn:aws:signer:us-east-1:123456789012:/signing-profiles/siesa_integration/a1b2c3d4e5"
)


def deploy_onto(
    aws: LocalAws, build: Build, events: list[StackEvent] | None = None, **changes: Any
) -> DeployReport:
    """`deploy()` of `build` as stack siesa-test (Environment=test unless changed)."""
    request = DeployRequest(**{"stack_name": STACK, "environment": "test", **changes})
    return deploy(
        build,
        request,
        deployment=Deployment(aws.url, region=aws.region, stack_name=STACK),
        on_event=None if events is None else events.append,
        poll_seconds=0.01,
        timeout_seconds=120,
    )


def code_sha256(path: Path) -> str:
    """Lambda's CodeSha256 of a zip: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
