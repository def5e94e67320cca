"""Checking benchmark: how long the compiler takes on very large `.map` files.

    .venv/bin/python benchmarks/checking.py [--fields 20000] [--entries 100000] [--repeat 3]

Generates two files in a temporary directory and times them, best of
`--repeat` runs each:

- a mapping of `--fields` fields (the id, then custom fields each read from
  its own column and written to its own product key), timed through
  `check_file`, which is what `siesa map check` runs;
- the same mapping with one syntax error in its tenth field, timed through
  `check_file` too: a broken file must be reported as fast (every error of
  the file is still looked for);
- a mapping with one lookup table of `--entries` codes used by one field,
  timed through `compile_file` (check and code generation).

The target is under 5 s for each at the default sizes; checking time must grow
in proportion to the file, so the figures for half the size are printed too.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from compiler.pipeline import check_file, compile_file  # noqa: E402
from dsl.diagnostics import MapError  # noqa: E402

_HEADER = (
    "version 1\nmapping bench for kong\n\nfield id string required <- f_codigo -> product_id\n"
)


def many_fields(count: int) -> str:
    """A valid mapping of `count` fields, each with its own source column and product key."""
    lines = [_HEADER]
    for number in range(1, count):
        lines.append(
            f"field custom:c{number:06d} string optional <- f_c{number:06d}"
            f" -> attributes.c{number:06d} | trim\n"
        )
    return "".join(lines)


def broken_fields(count: int) -> str:
    """`many_fields(count)` with a stray `;` in its tenth field: one syntax error to report."""
    return many_fields(count).replace("<- f_c000010 ", "<- f_c000010 ; ", 1)


def reports(run: Callable[..., object]) -> Callable[..., object]:
    """`run`, for a file that must fail: the MapError it raises is its result."""

    def wrapped(path: Path, *, root: Path) -> object:
        try:
            run(path, root=root)
        except MapError as error:
            return error
        raise AssertionError(f"{path} was expected to have an error")

    return wrapped


def big_lookup(entries: int) -> str:
    """A valid mapping whose one lookup table holds `entries` codes."""
    table = "".join(f'  "C{number:07d}" -> "valor {number}"\n' for number in range(entries))
    return (
        _HEADER
        + f"\nlookup codigos {{\n{table}}}\n\n"
        + "field category string optional <- f_categoria | lookup(codigos)\n"
    )


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, float]:
    """The fastest of `repeat` runs of `run`: (wall seconds, CPU seconds of this process)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"python {platform.python_version()} on {platform.machine()},"
        f" {os.cpu_count()} cpus, load average {load:.1f}; best of {args.repeat}"
    )
    cases = (
        [
            ("check", "fields", count, many_fields, check_file)
            for count in (args.fields // 2, args.fields)
        ]
        + [
            ("check", "fields, 1 error", args.fields, broken_fields, reports(check_file)),
        ]
        + [
            ("compile", "entries", count, big_lookup, compile_file)
            for count in (args.entries // 2, args.entries)
        ]
    )
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for stage, unit, count, make, run in cases:
            path = root / f"{unit.replace(' ', '').replace(',', '_')}_{count}.map"
            path.write_text(make(count), encoding="utf-8")
            size = path.stat().st_size / 1e6
            wall, cpu = best_of(args.repeat, lambda path=path, run=run: run(path, root=root))
            print(
                f"{stage:<7} {count:>7,} {unit:<15} ({size:4.1f} MB):"
                f" {wall:6.2f} s wall, {cpu:6.2f} s cpu"
            )


if __name__ == "__main__":
    main()
