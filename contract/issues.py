"""How a one-to-many record's errors divide among its lines: one rejected line per line number.

A generated module's `map_record` gives an issue per failing field; an issue
of a line of a one-to-many record carries `part` (the line's number, from 1)
and the line's id as `record_id`. A line that fails on two fields is still
one rejected line: the transformer's report, `siesa map run` and
reconciliation all count and name it once, so they divide the issues here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple


class RejectedLine(NamedTuple):
    """A rejected line of a one-to-many record and the issues that rejected it."""

    part: int
    record_id: Any
    """The line's id, or None when no issue of the line carries one."""
    issues: list[Mapping[str, Any]]


def rejected_lines(errors: Iterable[Mapping[str, Any]]) -> list[RejectedLine]:
    """The lines `errors` reject, in line order; errors of no line (no `part`) are left out."""
    by_part: dict[int, list[Mapping[str, Any]]] = {}
    for issue in errors:
        if issue.get("part") is not None:
            by_part.setdefault(int(issue["part"]), []).append(issue)
    return [
        RejectedLine(
            part,
            next((i["record_id"] for i in group if i.get("record_id") is not None), None),
            group,
        )
        for part, group in sorted(by_part.items())
    ]
