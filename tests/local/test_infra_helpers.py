"""ops.deploy.infra: reading the template and filling the definition's placeholders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.deploy import infra


def test_short_form_tags_become_long_form(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  A:\n"
        "    Type: AWS::SNS::Topic\n"
        "    Properties:\n"
        "      TopicName: !Sub '${AWS::StackName}-alerts'\n"
        "      Tags:\n"
        "        - Key: arn\n"
        "          Value: !GetAtt B.Arn\n"
        "        - Key: ref\n"
        "          Value: !Ref B\n"
        "        - Key: env\n"
        "          Value: !If [IsProd, !Join ['-', [a, b]], c]\n",
        encoding="utf-8",
    )
    properties = infra.load_template(path)["Resources"]["A"]["Properties"]
    assert properties["TopicName"] == {"Fn::Sub": "${AWS::StackName}-alerts"}
    assert [tag["Value"] for tag in properties["Tags"]] == [
        {"Fn::GetAtt": ["B", "Arn"]},
        {"Ref": "B"},
        {"Fn::If": ["IsProd", {"Fn::Join": ["-", ["a", "b"]]}, "c"]},
    ]


def test_a_file_that_is_no_template_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("just: text\n", encoding="utf-8")
    with pytest.raises(infra.InfraError, match="no Resources"):
        infra.load_template(path)
    with pytest.raises(infra.InfraError, match="cannot read the template"):
        infra.load_template(tmp_path / "missing.yaml")


def test_a_definition_must_be_a_state_machine(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{"States": ', encoding="utf-8")
    with pytest.raises(infra.InfraError, match="cannot read the state machine definition"):
        infra.load_definition(path)
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(infra.InfraError, match="no States"):
        infra.load_definition(path)


def test_render_fills_every_placeholder_and_keeps_context_paths() -> None:
    definition = json.dumps(
        {
            "States": {
                "A": {"Resource": "${FunctionArn}", "Parameters": {"n.$": "$$.Execution.Name"}},
                "B": {"Parameters": {"TableName": "${Table}", "Key.$": "$.k"}},
            }
        }
    )
    rendered = json.loads(
        infra.render_definition(definition, {"FunctionArn": "arn:fn", "Table": "clients"})
    )
    assert rendered["States"]["A"] == {
        "Resource": "arn:fn",
        "Parameters": {"n.$": "$$.Execution.Name"},
    }
    assert rendered["States"]["B"]["Parameters"] == {"TableName": "clients", "Key.$": "$.k"}


def test_render_refuses_a_missing_value() -> None:
    with pytest.raises(infra.InfraError, match="no value for placeholder"):
        infra.render_definition('{"States": {"A": "${One}${Two}"}}', {"One": "1"})


def test_definition_values_come_from_outputs_named_like_the_substitutions() -> None:
    template = infra.load_template()
    outputs = {name: f"value-of-{name}" for name in template["Outputs"]}
    values = infra.definition_values(template, outputs)
    assert values == {name: f"value-of-{name}" for name in infra.substitution_names(template)}
    del outputs["LoaderFunctionArn"]
    with pytest.raises(infra.InfraError, match="LoaderFunctionArn"):
        infra.definition_values(template, outputs)


def test_inlining_swaps_the_s3_location_for_the_text_and_keeps_substitutions() -> None:
    template = infra.load_template()
    definition = infra.load_definition()
    inlined = infra.inline_definition(template, definition)
    name, machine = infra.state_machine_resource(inlined)
    assert name == "Workflow"
    assert machine["Properties"]["DefinitionString"] == definition
    assert "DefinitionS3Location" not in machine["Properties"]
    assert set(machine["Properties"]["DefinitionSubstitutions"]) == infra.placeholders(definition)
    # the original is untouched
    assert "DefinitionS3Location" in template["Resources"]["Workflow"]["Properties"]


def test_exactly_one_state_machine_is_expected() -> None:
    with pytest.raises(infra.InfraError, match="exactly one"):
        infra.state_machine_resource({"Resources": {}})
