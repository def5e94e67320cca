"""The CloudFormation template and the workflow definition, read from infra/.

One template and one state machine definition serve AWS and the embedded AWS.
The template points at the definition (`DefinitionS3Location`) and names its
`${Name}` placeholders in `DefinitionSubstitutions`; this module fills those
placeholders the way CloudFormation does, so the local engine runs the very
same file, and can inline the definition for tools that want one document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from infra import DEFINITION_PATH, TEMPLATE_PATH

STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


class InfraError(Exception):
    """The template or the definition is not what the engine can use; the message says why."""


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short-form tags into their long form."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    """`!Ref X` -> {"Ref": "X"}, `!GetAtt A.B` -> {"Fn::GetAtt": ["A", "B"]}, `!Sub ...` -> {"Fn::Sub": ...}."""
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise InfraError(f"unsupported YAML node for !{tag_suffix}")
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as a dict, intrinsic functions in long form."""
    try:
        text = path.read_text(encoding="utf-8")
        loaded = yaml.load(text, Loader=_CfnLoader)  # nosec B506 # _CfnLoader is a SafeLoader plus the short-form tags
    except (OSError, yaml.YAMLError) as exc:
        raise InfraError(f"{path}: cannot read the template: {exc}") from exc
    if not isinstance(loaded, dict) or "Resources" not in loaded:
        raise InfraError(f"{path}: not a CloudFormation template (no Resources)")
    return loaded


def load_definition(path: Path = DEFINITION_PATH) -> str:
    """The state machine definition text, checked to be a JSON object."""
    try:
        text = path.read_text(encoding="utf-8")
        parsed = json.loads(text)
    except (OSError, ValueError) as exc:
        raise InfraError(f"{path}: cannot read the state machine definition: {exc}") from exc
    if not isinstance(parsed, dict) or "States" not in parsed:
        raise InfraError(f"{path}: not a state machine definition (no States)")
    return text


def placeholders(definition: str) -> set[str]:
    """The `${Name}` placeholder names the definition uses."""
    return set(_PLACEHOLDER.findall(definition))


def render_definition(definition: str, values: Mapping[str, str]) -> str:
    """Fill every `${Name}` from `values`, as DefinitionSubstitutions does; refuse a missing name."""
    missing = sorted(placeholders(definition) - set(values))
    if missing:
        raise InfraError(f"no value for placeholder(s) {', '.join(missing)} of the definition")
    rendered = _PLACEHOLDER.sub(lambda match: values[match.group(1)], definition)
    json.loads(rendered)  # a value that breaks the JSON is a bug here, not at run time
    return rendered


def state_machine_resource(template: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The logical id and body of the template's only state machine."""
    found = [
        (name, body)
        for name, body in template.get("Resources", {}).items()
        if isinstance(body, dict) and body.get("Type") == STATE_MACHINE_TYPE
    ]
    if len(found) != 1:
        raise InfraError(
            f"the template must hold exactly one {STATE_MACHINE_TYPE}, found {len(found)}"
        )
    return found[0]


def substitution_names(template: Mapping[str, Any]) -> set[str]:
    """The names the template's state machine substitutes into its definition."""
    _, body = state_machine_resource(template)
    return set(body.get("Properties", {}).get("DefinitionSubstitutions", {}))


def definition_values(template: Mapping[str, Any], outputs: Mapping[str, str]) -> dict[str, str]:
    """Placeholder values taken from stack outputs: each substitution name is also an output."""
    names = substitution_names(template)
    missing = sorted(names - set(outputs))
    if missing:
        raise InfraError(f"the stack has no output(s) {', '.join(missing)} to fill the definition")
    return {name: outputs[name] for name in names}


def inline_definition(template: Mapping[str, Any], definition: str) -> dict[str, Any]:
    """A copy of the template whose state machine carries the definition text itself.

    `DefinitionSubstitutions` stays, so CloudFormation (or cfn-lint) sees the
    same placeholders; only `DefinitionS3Location` becomes `DefinitionString`.
    """
    copied: dict[str, Any] = json.loads(json.dumps(template))
    name, _ = state_machine_resource(copied)
    properties = copied["Resources"][name]["Properties"]
    properties.pop("DefinitionS3Location", None)
    properties["DefinitionString"] = definition
    return copied
