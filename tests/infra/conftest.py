"""A stack deployed from infra/template.yaml on the embedded AWS, shared per test module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.embedded_aws import LocalAws
from local.provision import ProvisionResult, provision

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))  # policy_eval, template_values


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[LocalAws, ProvisionResult]]:
    """The template deployed (Environment=test) on moto's CloudFormation, no mapping bundle."""
    with LocalAws() as aws:
        yield aws, provision(aws, mappings_dir=None)
