"""The ERP records the playground maps on every keystroke, and where they come from.

By default the examples of the text being typed (so they change as it
changes); else records read once at start: the first records of a JSON-lines
file, or of a client's last finished run (ops/run_records.py). Each source
is cut at MAX_RECORDS records and MAX_FILE_BYTES bytes, so one keystroke
maps a bounded amount of data.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.apply import Input, json_lines

if TYPE_CHECKING:
    from compiler.pipeline import CompiledMapping
    from ops.run_records import RunRecords

MAX_RECORDS = 200
"""Records mapped per keystroke at most."""
MAX_FILE_BYTES = 8 * 1024 * 1024
"""Bytes of a JSON-lines file read at most."""


@dataclass(frozen=True)
class Samples:
    """Records to map: fixed ones read at start, or None for the examples of the current text."""

    description: str
    fixed: tuple[Input, ...] | None = None

    def inputs(self, compiled: CompiledMapping, display: str) -> list[Input]:
        """The records to map with `compiled`, each named where it comes from."""
        if self.fixed is not None:
            return list(self.fixed)
        return [
            Input(f"{display}:{example.line}", copy.deepcopy(example.input))
            for example in compiled.mapping.examples[:MAX_RECORDS]
        ]


def from_examples(display: str) -> Samples:
    """The `example` blocks of the text as it is typed."""
    return Samples(f"the examples of {display} (their `in` records)")


def from_json_lines(path: Path) -> Samples:
    """The first MAX_RECORDS records of a JSON-lines file; OSError or UnicodeDecodeError if unreadable."""
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    cut = len(data) > MAX_FILE_BYTES
    if cut:
        data = data[: data.rfind(b"\n", 0, MAX_FILE_BYTES) + 1]
    lines = data.decode("utf-8").splitlines()
    found = list(islice(json_lines(lines, str(path)), MAX_RECORDS + 1))
    more = cut or len(found) > MAX_RECORDS
    shown = found[:MAX_RECORDS]
    return Samples(f"{path}: {_count(shown, more)}", tuple(shown))


def from_run(run: RunRecords) -> Samples:
    """A client's run's extracted records (ops/run_records.py read at most MAX_RECORDS)."""
    shown = tuple(Input(f"{run.run_id}/{where}", record) for where, record in run.records)
    return Samples(
        f"run {run.run_id} of {run.client_id}, extracted: {_count(shown, run.more)}", shown
    )


def _count(shown: tuple[Input, ...] | list[Input], more: bool) -> str:
    if more:
        return f"the first {len(shown)} record(s); the rest are not mapped here"
    return f"{len(shown)} record(s)"
