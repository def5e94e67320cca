"""Every suppression of a security linter says which rule and why, where it is made.

`make static` runs checkov on infra/template.yaml and bandit on the shipped
packages, and both must be clean. A finding that does not apply is suppressed
next to what it is about: a checkov skip in the resource's `Metadata` with a
`comment`, a bandit `nosec` comment naming its rule ids and then, after a second
`#`, the reason (bandit reads what follows the ids up to the next `#` as more
rule names). A rule skipped for the whole project in pyproject's [tool.bandit]
carries its reason in a comment on or above its entry. These tests refuse a bare
suppression, so none can slip in unexplained (docs/security.md, row 12).
"""

from __future__ import annotations

import io
import os
import re
import tokenize
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops.deploy import infra

ROOT = Path(__file__).resolve().parents[2]
# Not ours to judge, or not source: virtualenvs, caches, build output.
_SKIPPED_DIRS = frozenset({"build", "dist", "__pycache__"})

_NOSEC_WORD = re.compile(r"\bnosec\b", re.IGNORECASE)
_JUSTIFIED_NOSEC = re.compile(r"#\s*nosec\s+B\d{3}(?:\s*,\s*B\d{3})*\s*#\s*(?P<reason>.*)")
_CHECKOV_ID = re.compile(r"CKV2?_AWS_\d+")
_MIN_REASON_WORDS = 4


def _is_reason(text: object) -> bool:
    """A reason is a few words of prose, not a placeholder like "ok" or "false positive"."""
    return isinstance(text, str) and len(re.findall(r"[A-Za-z]{2,}", text)) >= _MIN_REASON_WORDS


# --- bandit: inline ----------------------------------------------------------------------


def python_files(root: Path) -> Iterator[Path]:
    """The project's Python files: every folder but hidden ones (.venv*, .git) and build output."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(".") and name not in _SKIPPED_DIRS
        )
        yield from (Path(folder, name) for name in sorted(files) if name.endswith(".py"))


def nosec_comments(source: str) -> list[tuple[int, str]]:
    """(line, comment) of each comment of `source` that mentions nosec (strings do not count)."""
    if not _NOSEC_WORD.search(source):
        return []  # tokenizing every file would take seconds
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [
        (token.start[0], token.string)
        for token in tokens
        if token.type == tokenize.COMMENT and _NOSEC_WORD.search(token.string)
    ]


def bare_nosecs(source: str) -> list[tuple[int, str]]:
    """The nosec comments of `source` without a rule id, or without a reason after them."""
    bare = []
    for line, comment in nosec_comments(source):
        found = _JUSTIFIED_NOSEC.fullmatch(comment.strip())
        if found is None or not _is_reason(found["reason"]):
            bare.append((line, comment))
    return bare


# --- bandit: project-wide skips --------------------------------------------------------


def bandit_skips(pyproject: str) -> list[str]:
    """The rule ids pyproject's [tool.bandit] skips."""
    section: dict[str, Any] = tomllib.loads(pyproject).get("tool", {}).get("bandit", {})
    return list(section.get("skips", []))


def unexplained_skips(pyproject: str) -> list[str]:
    """The skipped ids with no reason: a comment on the entry's line or just above it."""
    lines = pyproject.splitlines()
    section = lines[lines.index("[tool.bandit]") :]
    unexplained = []
    for rule in bandit_skips(pyproject):
        at = next(i for i, line in enumerate(section) if f'"{rule}"' in line)
        above = at
        while above > 0 and section[above - 1].strip().startswith("#"):
            above -= 1
        reason = section[at].partition("#")[2] or " ".join(section[above:at])
        if not _is_reason(reason):
            unexplained.append(rule)
    return unexplained


# --- checkov -----------------------------------------------------------------------------


def checkov_skips(template: dict[str, Any]) -> list[tuple[str, Any]]:
    """(resource, skip entry) for every checkov skip in the template's resources."""
    found = []
    for name, resource in template.get("Resources", {}).items():
        skips = (resource.get("Metadata") or {}).get("checkov", {}).get("skip", [])
        found += [(name, skip) for skip in skips]
    return found


def bare_checkov_skips(template: dict[str, Any]) -> list[str]:
    """Each skip with no check id, or no reason in its `comment`."""
    return [
        f"{name}: {skip!r}"
        for name, skip in checkov_skips(template)
        if not isinstance(skip, dict)
        or not _CHECKOV_ID.fullmatch(str(skip.get("id", "")))
        or not _is_reason(skip.get("comment"))
    ]


# --- the project as it is ------------------------------------------------------------------


def test_every_nosec_names_its_rules_and_says_why() -> None:
    found = 0
    bare = []
    for path in python_files(ROOT):
        source = path.read_text(encoding="utf-8")
        found += len(nosec_comments(source))
        bare += [f"{path.relative_to(ROOT)}:{line}: {text}" for line, text in bare_nosecs(source)]
    assert bare == []
    assert found >= 10  # the walk saw the code's suppressions (a wrong root would see none)


def test_every_project_wide_bandit_skip_says_why() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert bandit_skips(pyproject)
    assert unexplained_skips(pyproject) == []


def test_every_checkov_skip_in_the_template_says_why() -> None:
    template = infra.load_template()
    assert checkov_skips(template)
    assert bare_checkov_skips(template) == []


def test_checkov_skips_are_made_only_in_resource_metadata() -> None:
    """checkov also reads `checkov:skip=` comments; one form keeps every reason checkable."""
    text = infra.TEMPLATE_PATH.read_text(encoding="utf-8")
    assert "checkov:skip" not in text.replace(" ", "")


def test_the_template_loader_is_a_safe_loader() -> None:
    """The reason given for bandit's B506 in ops/deploy/infra.py, checked."""
    assert issubclass(infra._CfnLoader, yaml.SafeLoader)


# --- the checks can fail -----------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "x = 1  # nosec",
        "x = 1  # nosec B105",
        "x = 1  # nosec B105 # ok",
        "x = 1  # nosec: B105 reason without the second hash",
        "x = 1  # NOSEC # the rule id is missing here entirely",
    ],
)
def test_a_bare_nosec_is_refused(line: str) -> None:
    assert bare_nosecs(line + "\n") == [(1, line.partition("  ")[2])]


def test_a_justified_nosec_passes_and_strings_do_not_count() -> None:
    source = (
        'x = "# nosec"  # nosec B105, B106 # a placeholder the local engine accepts\n'
        "y = 2  # mentions nothing\n"
    )
    assert bare_nosecs(source) == []
    assert len(nosec_comments(source)) == 1


def test_a_project_wide_skip_without_a_reason_is_refused() -> None:
    pyproject = (
        "[tool.bandit]\n"
        "skips = [\n"
        "    # assert: used only to narrow types after a check\n"
        '    "B101",\n'
        '    "B404",\n'
        '    "B311",  # fine\n'
        "]\n"
    )
    assert unexplained_skips(pyproject) == ["B404", "B311"]


def test_a_checkov_skip_without_a_reason_is_refused() -> None:
    reason = "Step Functions invokes it synchronously, so a queue would receive nothing."
    template = {
        "Resources": {
            "Fine": {"Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_116", "comment": reason}]}}},
            "NoComment": {"Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_117"}]}}},
            "Placeholder": {
                "Metadata": {
                    "checkov": {"skip": [{"id": "CKV_AWS_18", "comment": "false positive"}]}
                }
            },
            "NoId": {"Metadata": {"checkov": {"skip": [{"comment": reason}]}}},
            "Plain": {"Type": "AWS::S3::Bucket"},
        }
    }
    bare = bare_checkov_skips(template)
    assert [entry.partition(":")[0] for entry in bare] == ["NoComment", "Placeholder", "NoId"]
