"""cfn-lint reports nothing on the template, nor on its state machine definition."""

from __future__ import annotations

import json

from cfnlint.api import ManualArgs, lint

from ops.deploy import infra

# The inlined copy no longer reads the definition's S3 key; that warning is expected there.
_INLINE_IGNORES = ["W2001"]


def test_cfn_lint_reports_nothing_on_the_template() -> None:
    matches = lint(infra.TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert [str(match) for match in matches] == []


def test_cfn_lint_validates_the_definition_when_inlined() -> None:
    """cfn-lint checks a definition only inside DefinitionString, so lint the inlined template."""
    inlined = infra.inline_definition(infra.load_template(), infra.load_definition())
    matches = lint(json.dumps(inlined), config=ManualArgs(ignore_checks=_INLINE_IGNORES))
    assert [str(match) for match in matches] == []


def test_cfn_lint_catches_a_broken_definition() -> None:
    """The check above can fail: a misspelt state type is reported."""
    broken = infra.load_definition().replace('"Type": "Choice"', '"Type": "Chose"')
    inlined = infra.inline_definition(infra.load_template(), broken)
    matches = lint(json.dumps(inlined), config=ManualArgs(ignore_checks=_INLINE_IGNORES))
    assert any("Chose" in str(match) for match in matches)
