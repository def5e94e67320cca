"""What every test starts from: the local engine's mark, unless a test says otherwise.

The suites run the platform against simulators on loopback (http://127.0.0.1),
which only the local engine may call (runtime.api_url). So a test process is
the local engine by default (`ENVIRONMENT=local`, as `siesa local up` exports
it); a test of the rules on AWS sets ENVIRONMENT to test or prod itself.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Mark the process as the local engine before any test module is imported."""
    os.environ.setdefault("ENVIRONMENT", "local")
