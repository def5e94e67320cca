"""A small IAM policy evaluator: exactly the subset infra/template.yaml uses, by AWS's rules.

moto does not enforce IAM, and no maintained evaluator is on the package index,
so the template's policies are checked by evaluating their documents here.
What it knows, as the IAM User Guide documents it ("Policy evaluation logic",
"Condition operators", "Single-valued vs. multivalued context keys", "Policy
variables"):

- Decision: an explicit Deny in any statement wins; else an Allow; else the
  default (implicit) deny.
- `Action` / `NotAction`: case-insensitive, `*` and `?` wildcards.
- `Resource` / `NotResource`: case-sensitive, `*` and `?` wildcards (across
  `/` and `:`), with `${...}` policy variables taken from the request context;
  a substituted value is literal text, never a wildcard.
- `Principal` (trust policies): `"*"`, `{"AWS": arn | account root}`, `{"Service": name}`.
- Conditions: every operator, every key and (for one key) any of the policy's
  values: StringEquals, StringNotEquals, StringLike, StringNotLike, ArnEquals,
  ArnLike, ArnNotEquals, ArnNotLike, Null, Bool, each `...IfExists`, and the
  `ForAllValues:` / `ForAnyValue:` forms. A key absent from the request makes a
  plain operator false and a negated one (`...Not...`) true; `IfExists` makes
  it true; `ForAllValues:` is true for an absent key or an empty set (which is
  why a `Scan`, with no `dynamodb:LeadingKeys`, must be kept out by the action
  list), `ForAnyValue:` false.
- A policy variable with no value in the request (an untagged session's
  `${aws:PrincipalTag/client_id}`): the statement does not match at all, for
  Allow and Deny alike (the template never relies on a Deny with a variable).

Anything outside the subset (another operator, a default value in a variable,
`NotPrincipal`) raises `Unsupported`, so nothing is evaluated by a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

ContextValue = str | Sequence[str]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_POSITIVE = ("StringEquals", "StringLike", "ArnEquals", "ArnLike", "Bool")


class Unsupported(ValueError):
    """The document uses something outside the evaluator's subset."""


class Decision(Enum):
    """The outcome of evaluating a request against a set of policies."""

    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"

    @property
    def allowed(self) -> bool:
        """Whether the request is allowed."""
        return self is Decision.ALLOW


@dataclass(frozen=True)
class Request:
    """One request: who asks, for what action on which resource, with which context keys.

    Context values are strings (single-valued keys) or sequences of strings
    (multivalued keys such as `aws:TagKeys`, `dynamodb:LeadingKeys`).
    """

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    principal: str | None = None

    def value(self, key: str) -> ContextValue | None:
        """A context key's value (key names are case-insensitive, as in AWS)."""
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return value
        return None


class _MissingVariable(Exception):
    """A policy variable has no value in the request: the statement does not match."""


def evaluate(request: Request, documents: Iterable[Mapping[str, Any]]) -> Decision:
    """The decision for `request` under every statement of `documents`."""
    allowed = False
    for document in documents:
        for statement in _statements(document):
            if not _matches(statement, request):
                continue
            effect = statement.get("Effect")
            if effect == "Deny":
                return Decision.EXPLICIT_DENY
            if effect != "Allow":
                raise Unsupported(f"Effect {effect!r}")
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _matches(statement: Mapping[str, Any], request: Request) -> bool:
    """Whether the statement applies to the request (its effect aside)."""
    if "NotPrincipal" in statement:
        raise Unsupported("NotPrincipal")
    try:
        return (
            _principal_matches(statement, request)
            and _action_matches(statement, request.action)
            and _resource_matches(statement, request)
            and conditions_hold(statement.get("Condition", {}), request)
        )
    except _MissingVariable:
        return False


# --- principal, action, resource -------------------------------------------------------


def _principal_matches(statement: Mapping[str, Any], request: Request) -> bool:
    if "Principal" not in statement:
        return True  # an identity policy: it applies to whoever holds it
    principal = statement["Principal"]
    if principal == "*":
        return True
    if request.principal is None:
        return False
    for kind, values in principal.items():
        for value in _as_list(values):
            if kind == "Service" and value == request.principal:
                return True
            if kind == "AWS" and _aws_principal_matches(str(value), request.principal):
                return True
            if kind not in ("Service", "AWS"):
                raise Unsupported(f"Principal type {kind!r}")
    return False


def _aws_principal_matches(value: str, principal: str) -> bool:
    """An ARN names itself; an account (id or `:root`) names every principal of that account."""
    if value == "*" or value == principal:
        return True
    account = value if value.isdigit() else None
    root = re.fullmatch(r"arn:[^:]+:iam::(\d{12}):root", value)
    if root:
        account = root.group(1)
    parts = principal.split(":")
    return account is not None and len(parts) > 4 and parts[4] == account


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "Action" in statement:
        return any(
            _wildcard(str(p), action, ignore_case=True) for p in _as_list(statement["Action"])
        )
    if "NotAction" in statement:
        patterns = _as_list(statement["NotAction"])
        return not any(_wildcard(str(p), action, ignore_case=True) for p in patterns)
    raise Unsupported("a statement without Action or NotAction")


def _resource_matches(statement: Mapping[str, Any], request: Request) -> bool:
    if "Principal" in statement and "Resource" not in statement and "NotResource" not in statement:
        return True  # a trust policy: the resource is the role itself
    if "Resource" in statement:
        return any(
            _pattern(str(p), request).fullmatch(request.resource)
            for p in _as_list(statement["Resource"])
        )
    if "NotResource" in statement:
        patterns = _as_list(statement["NotResource"])
        return not any(_pattern(str(p), request).fullmatch(request.resource) for p in patterns)
    raise Unsupported("a statement without Resource or NotResource")


def _wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """`*` any run of characters, `?` exactly one; everything else literal."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(regex, value, flags) is not None


def _pattern(template: str, request: Request) -> re.Pattern[str]:
    """A resource or condition pattern with its policy variables filled in as literal text."""
    pieces: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(template):
        pieces.append(_wildcard_regex(template[position : match.start()]))
        pieces.append(re.escape(substitute_variable(match.group(1), request)))
        position = match.end()
    pieces.append(_wildcard_regex(template[position:]))
    return re.compile("".join(pieces), re.DOTALL)


def _wildcard_regex(text: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)


def substitute_variable(name: str, request: Request) -> str:
    """The value of `${name}` in the request; _MissingVariable when it has none."""
    if "," in name or name in ("*", "?", "$"):
        raise Unsupported(f"policy variable ${{{name}}}")
    value = request.value(name.strip())
    if value is None:
        raise _MissingVariable(name)
    if not isinstance(value, str):
        raise Unsupported(f"multivalued key {name} as a policy variable")
    return value


def _fill(value: str, request: Request) -> str:
    """A condition value with its policy variables substituted (used by exact operators)."""
    return _VARIABLE.sub(lambda match: substitute_variable(match.group(1), request), value)


# --- conditions --------------------------------------------------------------------------


def conditions_hold(block: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    """Every operator of a Condition block holds (AND), each for every key it names (AND)."""
    for operator, keys in block.items():
        for key, policy_values in keys.items():
            if not _condition_holds(operator, key, _as_list(policy_values), request):
                return False
    return True


def _condition_holds(operator: str, key: str, policy_values: list[Any], request: Request) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise Unsupported(f"condition operator {operator}")
    if_exists = name.endswith("IfExists")
    base = name.removesuffix("IfExists")
    value = request.value(key)
    present = value is not None and not (not isinstance(value, str) and len(value) == 0)

    if base == "Null":
        if qualifier or if_exists:
            raise Unsupported(f"condition operator {operator}")
        wanted = {str(v).lower() for v in policy_values}
        return ("true" in wanted and not present) or ("false" in wanted and present)

    negated = base in _NEGATED
    positive = _NEGATED.get(base, base)
    if positive not in _POSITIVE:
        raise Unsupported(f"condition operator {operator}")

    if qualifier:
        values = [] if value is None else ([value] if isinstance(value, str) else list(value))
        if qualifier == "ForAllValues":
            return all(_one_value(positive, negated, v, policy_values, request) for v in values)
        return any(_one_value(positive, negated, v, policy_values, request) for v in values)

    if value is None:
        return if_exists or negated
    if not isinstance(value, str):
        raise Unsupported(f"{operator} on the multivalued key {key}: use ForAllValues/ForAnyValue")
    return _one_value(positive, negated, value, policy_values, request)


def _one_value(
    operator: str, negated: bool, value: str, policy_values: list[Any], request: Request
) -> bool:
    """A request value against the policy's values: any matches (or, negated, none does)."""
    matched = any(_compare(operator, value, str(p), request) for p in policy_values)
    return not matched if negated else matched


def _compare(operator: str, value: str, policy_value: str, request: Request) -> bool:
    if operator == "StringEquals":
        return value == _fill(policy_value, request)
    if operator == "StringLike":
        return _pattern(policy_value, request).fullmatch(value) is not None
    if operator == "Bool":
        return value.lower() == _fill(policy_value, request).lower()
    # ArnEquals and ArnLike behave alike: each of the six parts, with wildcards.
    wanted = _fill(policy_value, request).split(":", 5)
    actual = value.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(_wildcard(p, a) for p, a in zip(wanted, actual, strict=True))
