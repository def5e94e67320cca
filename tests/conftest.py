"""What every test starts from: the local engine's mark, unless a test says otherwise.

The suites run the platform against simulators on loopback (http://127.0.0.1),
which only the local engine may call (runtime.api_url). So a test process is
the local engine by default (`ENVIRONMENT=local`, as `siesa local up` exports
it); a test of the rules on AWS sets ENVIRONMENT to test or prod itself.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Mark the process as the local engine before any test module is imported.

    And spare moto two costs that change no answer (tests/moto_speed.py).
    """
    os.environ.setdefault("ENVIRONMENT", "local")
    _load_sibling("moto_speed").patch_moto()


def _load_sibling(name: str) -> Any:
    """A support module beside this file (tests/ is no package and stays off sys.path)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
