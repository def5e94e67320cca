"""The Lambda platform the package is built for, read from the template's functions.

The template's `Runtime` and `Architectures` decide the Python version and the
machine the wheels must fit, so the package and the functions cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ops.deploy.errors import BundleError

LAMBDA_FUNCTION_TYPE = "AWS::Lambda::Function"
_RUNTIME = re.compile(r"^python(\d+)\.(\d+)$")
# Lambda's default architecture when a function names none.
_DEFAULT_ARCHITECTURE = "x86_64"
# Lambda architecture -> the machine name of wheel platform tags.
_MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
# Oldest glibc a manylinux2014 wheel may need: pip's `--platform manylinux2014_<machine>`.
_MANYLINUX_GLIBC_MINOR = 17


@dataclass(frozen=True)
class LambdaTarget:
    """A CPython version and a machine: what the package's compiled wheels must fit."""

    python: tuple[int, int]
    architecture: str  # Lambda's spelling: x86_64 or arm64

    @property
    def machine(self) -> str:
        """The wheel-tag machine name (x86_64, aarch64)."""
        return _MACHINES[self.architecture]

    @property
    def python_tag(self) -> str:
        """`cp311` for Python 3.11."""
        return f"cp{self.python[0]}{self.python[1]}"

    @property
    def pip_platform(self) -> str:
        """What `pip download --platform` takes."""
        return f"manylinux2014_{self.machine}"

    def platforms(self) -> list[str]:
        """Platform tags a manylinux2014 system accepts, most specific first (as pip orders them)."""
        tags = [
            f"manylinux_2_{minor}_{self.machine}" for minor in range(_MANYLINUX_GLIBC_MINOR, 4, -1)
        ]
        tags.insert(1, f"manylinux2014_{self.machine}")
        if self.machine == "x86_64":
            tags += [f"manylinux2010_{self.machine}", f"manylinux1_{self.machine}"]
        return tags

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values of the Lambda platform (for dependency markers)."""
        version = f"{self.python[0]}.{self.python[1]}"
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{version}.0",
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": f"{version}.0",
            "python_version": version,
            "sys_platform": "linux",
            "extra": "",
        }

    def describe(self) -> str:
        """`python3.11 x86_64 (manylinux2014_x86_64)`."""
        return f"python{self.python[0]}.{self.python[1]} {self.architecture} ({self.pip_platform})"


def target_of_template(template: Mapping[str, Any]) -> LambdaTarget:
    """The one Runtime and Architecture every function of the template uses; BundleError if they differ."""
    found: set[tuple[str, str]] = set()
    for name, resource in template.get("Resources", {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != LAMBDA_FUNCTION_TYPE:
            continue
        properties = resource.get("Properties", {})
        runtime = properties.get("Runtime")
        architectures = properties.get("Architectures", [_DEFAULT_ARCHITECTURE])
        if not isinstance(runtime, str) or not isinstance(architectures, list):
            raise BundleError(f"function {name}: Runtime and Architectures must be literal values")
        if len(architectures) != 1 or architectures[0] not in _MACHINES:
            raise BundleError(f"function {name}: Architectures must be [x86_64] or [arm64]")
        found.add((runtime, architectures[0]))
    if not found:
        raise BundleError("the template holds no Lambda function to build a package for")
    if len(found) > 1:
        listed = ", ".join(f"{runtime}/{arch}" for runtime, arch in sorted(found))
        raise BundleError(
            f"the functions disagree on runtime or architecture ({listed}); one package serves all"
        )
    runtime, architecture = found.pop()
    match = _RUNTIME.match(runtime)
    if match is None:
        raise BundleError(f"runtime {runtime} is not a Python runtime")
    return LambdaTarget((int(match.group(1)), int(match.group(2))), architecture)
