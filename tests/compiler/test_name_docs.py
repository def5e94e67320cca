"""Every name of the language has its one line of doc, kept beside the table that defines it.

The editor's hover reads these; a function, step or canonical field added
without its doc fails here rather than showing an empty hover.
"""

from __future__ import annotations

from compiler.expressions import FUNCTION_DOCS, SIGNATURES
from compiler.names import (
    CANONICAL_DOCS,
    CANONICAL_FIELDS,
    CHECK_DOCS,
    STEP_DOCS,
    STEP_SIGNATURES,
    VALIDATORS,
)


def test_each_function_step_and_canonical_field_has_a_doc() -> None:
    assert set(FUNCTION_DOCS) == set(SIGNATURES)
    assert set(STEP_DOCS) == set(STEP_SIGNATURES)
    assert set(CANONICAL_DOCS) == set(CANONICAL_FIELDS)


def test_docs_are_one_line_each() -> None:
    lines = [
        *CANONICAL_DOCS.values(),
        *STEP_DOCS.values(),
        *(doc for _, doc in FUNCTION_DOCS.values()),
        *(doc for _, doc in CHECK_DOCS.values()),
        *(message for _, message in VALIDATORS.values()),
    ]
    assert all(line and "\n" not in line for line in lines)


def test_the_keyword_checks_documented_are_those_the_grammar_has() -> None:
    from dsl.syntax import keyword_spellings

    words = set(keyword_spellings().values())
    assert {"matches", "length", "in"} <= words
    assert set(CHECK_DOCS) == {"matches", "length", "in", "compare", "range"}
