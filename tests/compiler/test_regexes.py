"""`check matches` on RE2: no regex stalls a run, RE2's meaning is pinned, long values stop first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from compiler.pipeline import compile_source
from compiler.regexes import regex_error
from compiler.values import DEFAULT_MAX_LENGTH
from dsl.diagnostics import MapError

HANG_GUARD_SECONDS = 10
# Loads a generated module from a file and runs one record through it; prints the outcome.
_RUN_ONE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("mapped", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
canonical, issues = module.to_canonical(json.loads(sys.argv[2]))
print(json.dumps({"canonical": canonical, "reasons": [issue["reason"] for issue in issues]}))
"""


def _source(checks: str) -> str:
    escaped = checks.replace("\\", "\\\\")
    return (
        "version 1\nmapping t for kong\n"
        "field id string required <- f_codigo\n"
        f"field custom:x string optional <- f_x {escaped}\n"
    )


def _module(checks: str) -> ModuleType:
    return compile_source(_source(checks), "t.map").load().module


def _no_match(pattern: str) -> str:
    return f"does not match {json.dumps(pattern, ensure_ascii=False)}"


def _reasons(module: ModuleType, value: str) -> list[object]:
    canonical, issues = module.to_canonical({"f_codigo": "P1", "f_x": value})
    assert (canonical is None) == bool(issues)
    return [issue["reason"] for issue in issues]


def _spy_on_regexes(module: ModuleType) -> list[str]:
    """The values the module's regexes are run on, from now on."""
    calls: list[str] = []
    match = module._full_match
    module._full_match = lambda regex, value: calls.append(value) or match(regex, value)
    return calls


def _run_guarded(tmp_path: Path, pattern: str, value: str) -> dict[str, object]:
    """The outcome of one record through a compiled mapping, in a child process that the
    test abandons after HANG_GUARD_SECONDS (a hang fails the test instead of the suite).
    The field states a maximum above the value's length, so the regex does run on it."""
    checks = f'check length <= 10000 check matches "{pattern}"'
    module = tmp_path / "mapped.py"
    module.write_text(compile_source(_source(checks), "t.map").code)
    record = json.dumps({"f_codigo": "P1", "f_x": value})
    try:
        result = subprocess.run(
            [sys.executable, "-c", _RUN_ONE, str(module), record],
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"{pattern!r} on a {len(value)}-character value ran over {HANG_GUARD_SECONDS} s"
        )
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout)
    assert isinstance(outcome, dict)
    return outcome


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("^(a+)+$", "a" * 31 + "!"),  # doubles per character under backtracking
        ("(x+x+)+y", "x" * 5000),
    ],
)
def test_catastrophic_regexes_answer_instead_of_hanging(
    tmp_path: Path, pattern: str, value: str
) -> None:
    outcome = _run_guarded(tmp_path, pattern, value)
    assert outcome["canonical"] is None
    assert outcome["reasons"] == [_no_match(pattern)]


def test_a_catastrophic_regex_still_accepts_what_it_matches(tmp_path: Path) -> None:
    outcome = _run_guarded(tmp_path, "^(a+)+$", "a" * 4000)
    assert outcome["canonical"] == {"id": "P1", "custom:x": "a" * 4000}


@pytest.mark.parametrize(
    ("pattern", "ascii_value", "other_value"),
    [
        ("^\\d+$", "123", "١٢٣"),  # Arabic-Indic digits: Python's re would accept them
        ("^\\w+$", "Camisa_2", "Camión"),
        ("^a\\sb$", "a b", "a\u00a0b"),  # no-break space
        ("^a\\sb$", "a\tb", "a\u000bb"),  # vertical tab: in Python's ASCII \s, not in RE2's
    ],
)
def test_perl_classes_are_ascii_only_under_re2(
    pattern: str, ascii_value: str, other_value: str
) -> None:
    module = _module(f'check matches "{pattern}"')
    assert _reasons(module, ascii_value) == []
    assert _reasons(module, other_value) == [_no_match(pattern)]


def test_word_boundaries_are_ascii_only_under_re2() -> None:
    # é is not a word character to RE2, so `caf\b` ends a word in "café" (not to Python's re).
    module = _module('check matches "^caf\\b.*$"')
    assert _reasons(module, "café") == []
    assert _reasons(module, "cafe") == [_no_match("^caf\\b.*$")]


@pytest.mark.parametrize(
    ("pattern", "value"),
    [("^\\pN+$", "١٢٣"), ("^\\p{L}+$", "Camión"), ("^[[:alpha:]]+$", "Camisa")],
)
def test_unicode_classes_are_written_with_p(pattern: str, value: str) -> None:
    assert _reasons(_module(f'check matches "{pattern}"'), value) == []


def test_a_value_over_the_default_cap_is_rejected_before_the_regex_runs() -> None:
    module = _module('check matches "^a+$" on invalid reject')
    calls = _spy_on_regexes(module)
    assert _reasons(module, "a" * DEFAULT_MAX_LENGTH) == []
    assert len(calls) == 1
    (reason,) = _reasons(module, "a" * (DEFAULT_MAX_LENGTH + 1))
    assert isinstance(reason, str) and reason.startswith(f"is longer than {DEFAULT_MAX_LENGTH}")
    assert len(calls) == 1  # the regex never saw the long value


def test_a_stated_maximum_is_the_cap_and_its_reason_whatever_the_order() -> None:
    module = _module('check matches "^a+$" check length <= 10')
    calls = _spy_on_regexes(module)
    assert _reasons(module, "a" * 11 + "!") == ["must be at most 10 characters long"]
    assert calls == []
    assert _reasons(module, "a" * 5000) == ["must be at most 10 characters long"]
    assert _reasons(module, "a" * 10) == []


def test_a_stated_maximum_above_the_default_cap_is_honoured() -> None:
    module = _module('check length <= 10000 check matches "^a+$"')
    assert _reasons(module, "a" * 9000) == []
    assert _reasons(module, "a" * 10001) == ["must be at most 10000 characters long"]


def test_a_default_longer_than_the_cap_is_a_compile_error() -> None:
    long_default = "a" * (DEFAULT_MAX_LENGTH + 1)
    with pytest.raises(MapError) as raised:
        compile_source(_source(f'check matches "^a+$" default "{long_default}"'), "t.map")
    (diagnostic,) = raised.value.diagnostics
    assert f"is longer than {DEFAULT_MAX_LENGTH} characters" in diagnostic.message


def test_a_value_that_is_not_text_is_an_issue_not_a_crash() -> None:
    module = _module('check matches "^.+$"')
    assert _reasons(module, "a\ud800b") == ["holds half of a surrogate pair, which is not text"]


@pytest.mark.parametrize(
    ("pattern", "construct", "words"),
    [
        ("(a)\\1", "\\1", "backreference"),
        ("x(?P<n>a)(?P=n)", "(?P=", "backreference"),
        ("a(?=b)", "(?=", "lookahead"),
        ("a(?!b)", "(?!", "negative lookahead"),
        ("(?<=a)b", "(?<=", "lookbehind"),
        ("(?<!a)b", "(?<!", "negative lookbehind"),
        ("(?>a+)b", "(?>", "atomic group"),
        ("[0-9]++", "++", "possessive"),
        ("a(?(1)b|c)", "(?(", "conditional"),
        ("\\\\1\\Z", "\\Z", "RE2 syntax"),
        ("a\\Cb", "\\C", "one byte"),
        ("[a-\\d]", "\\d", "invalid escape"),
        ("a{1001}", "{1001}", "too large"),
        ("[z-a]", "z-a", "character class range"),
        ("ab)", ")", "closes nothing"),
        ("a(b", "(", "not closed"),
    ],
)
def test_what_re2_cannot_run_is_located_and_named(pattern: str, construct: str, words: str) -> None:
    error = regex_error(pattern)
    assert error is not None and error.end is not None
    assert pattern[error.start : error.end] == construct
    assert words in error.message


def test_what_re2_runs_is_accepted() -> None:
    for pattern in ("^[A-Za-z0-9._-]+$", "(?P<code>[A-Z]{3})-\\d{4}", "[]a]", "\\x{E9}", "(?i)abc"):
        assert regex_error(pattern) is None, pattern


def test_a_regex_too_large_for_re2_is_refused_as_a_whole() -> None:
    error = regex_error("\\pL{1000}")
    assert error is not None and error.end is None
    assert "too large" in error.message
