"""The reliability matrix: one row per scenario, written by the tests, rendered into docs/reliability.md.

Each scenario test calls `record_row` with what its run(s) ended as and what
reconciliation counted. Rows go to files in the directory named by
SIESA_RELIABILITY_ROWS (set by conftest.py when SIESA_RELIABILITY_REPORT
names the markdown file to write), so the table in the docs is produced by
an actual run of the suite, on any number of xdist workers.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROWS_ENV = "SIESA_RELIABILITY_ROWS"
REPORT_ENV = "SIESA_RELIABILITY_REPORT"
TABLE_START = "<!-- matrix:start -->"
TABLE_END = "<!-- matrix:end -->"


@dataclass(frozen=True)
class MatrixRow:
    """One scenario's outcome."""

    group: str
    scenario: str
    product: str
    faults: str
    status: str
    in_scope: int
    loaded: int
    reported: int
    lost: int
    duplicates: int
    order: int = 0

    def cells(self) -> list[str]:
        """The row as the markdown table shows it."""
        return [
            self.scenario,
            self.product,
            self.faults,
            str(self.in_scope),
            str(self.loaded),
            str(self.reported),
            str(self.lost),
            str(self.duplicates),
            self.status,
        ]


HEADER = [
    "scenario",
    "product",
    "faults injected",
    "in scope",
    "loaded",
    "reported",
    "lost",
    "duplicates",
    "run status",
]


def record_row(row: MatrixRow) -> None:
    """Keep the row for the report when a report is being written; always check its promises."""
    assert row.lost == 0, f"{row.scenario}: {row.lost} record(s) lost"
    assert row.duplicates == 0, f"{row.scenario}: {row.duplicates} duplicate(s)"
    assert row.in_scope == row.loaded + row.reported, row
    folder = os.environ.get(ROWS_ENV)
    if not folder:
        return
    name = re.sub(r"[^a-z0-9]+", "-", f"{row.group}-{row.scenario}-{row.product}".lower())
    Path(folder, f"{name}.json").write_text(json.dumps(asdict(row)), encoding="utf-8")


def read_rows(folder: Path) -> list[MatrixRow]:
    """Every row written to `folder`, in the suite's order."""
    rows = [
        MatrixRow(**json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(folder.glob("*.json"))
    ]
    return sorted(rows, key=lambda row: (row.order, row.group, row.scenario))


def render_table(rows: list[MatrixRow]) -> str:
    """The markdown table, grouped as the tests group the scenarios."""
    lines: list[str] = []
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            lines += ["", f"### {group}", "", _line(HEADER), _line(["---"] * len(HEADER))]
        lines.append(_line(row.cells()))
    return "\n".join(lines).strip() + "\n"


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def write_report(path: Path, rows: list[MatrixRow], summary: dict[str, Any]) -> None:
    """Put the table between the markers of `path` (the prose around it is kept)."""
    text = path.read_text(encoding="utf-8") if path.exists() else f"{TABLE_START}\n{TABLE_END}\n"
    if TABLE_START not in text or TABLE_END not in text:
        text += f"\n{TABLE_START}\n{TABLE_END}\n"
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    totals = (
        f"_{len(rows)} scenarios; {summary['in_scope']} records in scope, "
        f"{summary['loaded']} loaded, {summary['reported']} reported, "
        f"{summary['lost']} lost, {summary['duplicates']} duplicates._\n"
    )
    body = f"{TABLE_START}\n{totals}\n{render_table(rows)}{TABLE_END}"
    path.write_text(head + body + tail, encoding="utf-8")


def totals(rows: list[MatrixRow]) -> dict[str, int]:
    """Sums over every row."""
    return {
        name: sum(getattr(row, name) for row in rows)
        for name in ("in_scope", "loaded", "reported", "lost", "duplicates")
    }
