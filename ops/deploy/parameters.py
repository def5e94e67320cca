"""The template's parameters: which values a deploy passes, checked before anything is uploaded.

Every parameter the template declares gets an explicit value: the one given
now, else the one the stack was last deployed with (an operator who set
`--alert-email` once does not lose the subscription by leaving it out
later), else the template's default. Passing the full set each time makes
an unchanged deploy compare equal, on AWS and on the embedded AWS alike.

Values are checked against the template's own constraints (AllowedValues,
AllowedPattern, lengths, numeric bounds) here, so a bad value fails naming
the parameter before any upload; CloudFormation checks them again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ops.errors import DeploymentError


def _declared(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    declared = template.get("Parameters", {})
    return {str(name): dict(body or {}) for name, body in declared.items()}


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def check_value(name: str, value: str, declaration: Mapping[str, Any]) -> None:
    """DeploymentError naming the parameter when `value` breaks one of its constraints."""
    allowed = declaration.get("AllowedValues")
    if allowed is not None and value not in [str(item) for item in allowed]:
        choices = ", ".join(str(item) for item in allowed)
        raise DeploymentError(f"parameter {name}={value!r} is not one of: {choices}")
    pattern = declaration.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        raise DeploymentError(f"parameter {name}={value!r} does not match {pattern}")
    for key, test, words in (
        ("MinLength", lambda limit: len(value) >= limit, "shorter than"),
        ("MaxLength", lambda limit: len(value) <= limit, "longer than"),
    ):
        limit = declaration.get(key)
        if limit is not None and not test(int(limit)):
            raise DeploymentError(f"parameter {name}={value!r} is {words} {limit} characters")
    if declaration.get("Type") == "Number":
        number = _number(value)
        if number is None:
            raise DeploymentError(f"parameter {name}={value!r} is not a number")
        low, high = declaration.get("MinValue"), declaration.get("MaxValue")
        if low is not None and number < float(low):
            raise DeploymentError(f"parameter {name}={value} is below its minimum {low}")
        if high is not None and number > float(high):
            raise DeploymentError(f"parameter {name}={value} is above its maximum {high}")


def check_given(template: Mapping[str, Any], given: Mapping[str, str]) -> None:
    """DeploymentError for a given parameter the template lacks or a value it refuses."""
    declared = _declared(template)
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise DeploymentError(
            f"the template has no parameter {', '.join(unknown)} "
            f"(it has {', '.join(sorted(declared))})"
        )
    for name, value in sorted(given.items()):
        check_value(name, value, declared[name])


def resolve_parameters(
    template: Mapping[str, Any],
    given: Mapping[str, str],
    previous: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A value for every declared parameter (given, else previous, else default), each checked."""
    check_given(template, given)
    declared = _declared(template)
    resolved: dict[str, str] = {}
    for name, declaration in sorted(declared.items()):
        if name in given:
            value = given[name]
        elif previous is not None and name in previous:
            value = previous[name]
        elif "Default" in declaration:
            value = str(declaration["Default"])
        else:
            raise DeploymentError(f"parameter {name} needs a value (the template gives no default)")
        check_value(name, value, declaration)
        resolved[name] = value
    return resolved


def parse_assignments(items: list[str]) -> dict[str, str]:
    """`KEY=VALUE` strings (from --parameter) as a dict; DeploymentError for one without `=`."""
    parsed: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise DeploymentError(f"--parameter {item!r} is not KEY=VALUE")
        parsed[key.strip()] = value
    return parsed
