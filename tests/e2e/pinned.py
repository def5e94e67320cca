"""Golden files of behaviour pinned across refactors, and how output is made comparable.

Set SIESA_UPDATE_GOLDEN=1 to record new golden files after a deliberate change.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"\b\d+\.\d s\b"), "N.N s"),
    (re.compile(r"/tmp/\S+/"), "/tmp/DIR/"),  # however deep the folder
    (re.compile(r"\b\d{8}T\d{6,9}Z-[0-9a-f]+\b"), "RUN_ID"),
    # a column's width follows its widest value (a duration of 10.2 s against 9.8 s)
    (re.compile(r"([━─])[━─]+"), r"\1"),
    (re.compile(r" {2,}"), " "),
)
_PROGRESS = re.compile(r"^cliente-[a-z]: ")
_OUTCOME = re.compile(r"^cliente-[a-z]: (success|partial|failed) in ")


def normalise(text: str) -> str:
    """Mask ports, durations, temp paths, run ids and column widths; sort progress blocks.

    Progress lines of clients syncing at once arrive in any order and show
    whichever stages the poll happened to see, so of each block of progress
    lines only the outcomes are kept, sorted.
    """
    lines: list[str] = []
    block: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        for pattern, mask in _MASKS:
            line = pattern.sub(mask, line)
        if _PROGRESS.match(line):
            if _OUTCOME.match(line):
                block.append(line)
            continue
        lines.extend(sorted(block))
        block = []
        lines.append(line)
    lines.extend(sorted(block))
    return "\n".join(lines) + "\n"


def check_golden(name: str, actual: str) -> None:
    """`actual` equals the golden file `name` (which SIESA_UPDATE_GOLDEN=1 rewrites)."""
    golden = GOLDEN / name
    if os.environ.get("SIESA_UPDATE_GOLDEN") == "1":
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8"), f"{name} changed"
