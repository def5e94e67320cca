"""The golden corpus: each invalid `.map` file and the diagnostics it must produce, verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.pipeline import check_file
from dsl.diagnostics import MapError

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*.map"))


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 20
    assert all(case.with_suffix(".expected").is_file() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_invalid_file_gives_its_expected_diagnostics(case: Path) -> None:
    with pytest.raises(MapError) as raised:
        check_file(case, root=GOLDEN, display=f"golden/{case.name}")
    expected = case.with_suffix(".expected").read_text(encoding="utf-8")
    assert raised.value.render() + "\n" == expected


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    with pytest.raises(MapError) as raised:
        check_file(GOLDEN / "unknown_names.map", root=GOLDEN)
    messages = [d.message for d in raised.value.diagnostics]
    assert messages == [
        "unknown step `trimm`",
        "unknown canonical field `stock_qty`",
        "unknown type `integer`",
        "unknown validator `ean`",
        "unknown lookup table `categoria`",
        "unknown policy `rejct`",
        "unknown type `text`",
        "unknown step `uper`",
    ]
