"""Import-time benchmark: each Lambda handler imported from the unpacked package alone.

    .venv/bin/python benchmarks/import_time.py [--repeat 7] [--package DIR] [--wheel-cache DIR]

Builds the Lambda package twice (with the shipped bytecode, and sources only),
unpacks each as Lambda does into a /var/task stand-in, links the AWS SDK the
Lambda runtime provides (boto3, botocore and what they need) into a second
directory, and imports each handler module in a fresh interpreter that sees
only those two directories and the standard library:

    python -X importtime -I -S -B -c "import sys; sys.path[:0] = [task, sdk]; import <handler>"

`-B` because /var/task is read-only on Lambda: Python can use bytecode that is
shipped but never writes any. A handler's figure is the sum of the cumulative
times `-X importtime` reports for the modules its import statement pulls in
(interpreter start-up excluded, and reported on its own). Each figure is the
best and the median of `--repeat` fresh interpreters. The target is at most
200 ms per handler (issue 13). Beside each handler, its dependencies' floor:
the third-party modules the handler's import leaves loaded, imported alone the
same way, i.e. what the handler would cost if the project's own modules (and the
pydantic models they build) cost nothing. The package size (zipped and unpacked) and the heaviest
distributions are reported too. `--package DIR` measures a build `siesa
bundle` made instead of building.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ops.deploy.build import DEFAULT_WHEEL_CACHE, read_build  # noqa: E402
from ops.deploy.infra import load_template  # noqa: E402
from ops.deploy.lambda_layout import isolated_python, link_provided_sdk, unpack  # noqa: E402
from ops.deploy.package import HANDLER_MODULES, build_lambda_package  # noqa: E402
from ops.deploy.target import target_of_template  # noqa: E402

TARGET_MS = 200.0
OURS = frozenset({"runtime", "contract"})
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)$")


def self_time_by_package(stderr: str, startup: set[str]) -> dict[str, int]:
    """Top-level package -> summed self microseconds: where an import's time goes."""
    found: dict[str, int] = defaultdict(int)
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match and match.group(4) not in startup:
            found[match.group(4).split(".")[0]] += int(match.group(1))
    return dict(found)


def top_level_imports(stderr: str) -> dict[str, int]:
    """Module -> cumulative microseconds, for the imports made directly by the -c code."""
    found: dict[str, int] = {}
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match and not match.group(3):  # no indent: nothing above it in the tree
            found[match.group(4)] = int(match.group(2))
    return found


def measure(paths: Sequence[Path], module: str, startup: set[str]) -> tuple[float, dict[str, int]]:
    """Milliseconds to import `module` in a fresh isolated interpreter, and self time by package."""
    result = isolated_python(paths, f"import {module}", "-X", "importtime")
    if result.returncode != 0:
        raise SystemExit(f"importing {module} failed:\n{result.stderr[-3000:]}")
    parts = {
        name: micros
        for name, micros in top_level_imports(result.stderr).items()
        if name not in startup
    }
    return sum(parts.values()) / 1000, self_time_by_package(result.stderr, startup)


def third_party_modules(paths: Sequence[Path], module: str) -> list[str]:
    """The modules outside the standard library and our packages that importing `module` loads."""
    code = (
        f"import {module}\n"
        f"ours = {sorted(OURS)!r}\n"
        "print(' '.join(sorted(name for name in sys.modules if name.split('.')[0] not in ours "
        "and name.split('.')[0] not in sys.stdlib_module_names)))"
    )
    # not importable by name: the interpreter's own (__main__) and generated ones (_sysconfigdata_...)
    result = isolated_python(paths, code)
    if result.returncode != 0:
        raise SystemExit(f"importing {module} failed:\n{result.stderr[-3000:]}")
    return [
        name
        for name in result.stdout.split()
        if not name.startswith("__") and all(part.isidentifier() for part in name.split("."))
    ]


def startup_modules(paths: Sequence[Path]) -> tuple[set[str], float]:
    """What the interpreter imports before the -c code runs, and how long that takes (ms)."""
    result = isolated_python(paths, "pass", "-X", "importtime")
    found = top_level_imports(result.stderr)
    return set(found), sum(found.values()) / 1000


def tree_size(root: Path) -> tuple[int, int]:
    """(bytes, files) under `root`, following no links."""
    total = files = 0
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            files += 1
    return total, files


def heaviest_distributions(package: Path, count: int = 6) -> list[tuple[str, int]]:
    """Top-level folders of the zip by uncompressed size."""
    sizes: dict[str, int] = defaultdict(int)
    with zipfile.ZipFile(package) as archive:
        for info in archive.infolist():
            top = info.filename.split("/", 1)[0]
            if not top.endswith(".dist-info"):
                sizes[top.removesuffix(".py")] += info.file_size
    return sorted(sizes.items(), key=lambda item: -item[1])[:count]


def report_variant(
    label: str, package: Path, work: Path, sdk: Path, repeat: int
) -> dict[str, float]:
    """Print size and per-handler import times of one package; return the medians."""
    task = unpack(package, work / label / "task")
    unpacked, files = tree_size(task)
    print(
        f"\n{label}: {package.name} {package.stat().st_size / 1e6:.2f} MB zipped, "
        f"{unpacked / 1e6:.1f} MB unpacked, {files} files"
    )
    startup, startup_ms = startup_modules([task, sdk])
    print(f"  interpreter start-up (-I -S, not counted below): {startup_ms:.1f} ms")
    medians: dict[str, float] = {}
    for module in HANDLER_MODULES:
        runs = sorted(
            (measure([task, sdk], module, startup) for _ in range(repeat)), key=lambda run: run[0]
        )
        times = [ms for ms, _ in runs]
        median = statistics.median(times)
        medians[module] = median
        verdict = "within" if median <= TARGET_MS else "OVER"
        print(
            f"  {module:<34} best {times[0]:6.1f} ms   median {median:6.1f} ms   "
            f"({verdict} the {TARGET_MS:.0f} ms target)"
        )
        floor_import = ", ".join(third_party_modules([task, sdk], module))
        floor = sorted(measure([task, sdk], floor_import, startup)[0] for _ in range(repeat))
        print(
            f"      its dependencies' floor (their modules alone): best {floor[0]:6.1f} ms   "
            f"median {statistics.median(floor):6.1f} ms"
        )
        heaviest = sorted(runs[len(runs) // 2][1].items(), key=lambda item: -item[1])[:6]
        print(
            "      where the median run's time went (self time by package): "
            + ", ".join(f"{name} {micros / 1000:.0f} ms" for name, micros in heaviest)
        )
    return medians


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7, help="fresh interpreters per handler")
    parser.add_argument("--package", type=Path, help="a directory `siesa bundle` wrote")
    parser.add_argument("--wheel-cache", type=Path, default=DEFAULT_WHEEL_CACHE)
    args = parser.parse_args(argv)

    print(
        f"machine: {platform.machine()}, nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"load average {' '.join(f'{value:.1f}' for value in os.getloadavg())}"
    )
    target = target_of_template(load_template())
    with tempfile.TemporaryDirectory(prefix="siesa-import-time-") as scratch:
        work = Path(scratch)
        sdk = link_provided_sdk(work / "sdk")
        if args.package is not None:
            variants = {"package": read_build(args.package).package.path}
        else:
            with_bytecode = build_lambda_package(
                work / "with", cache=args.wheel_cache, target=target
            )
            sources = build_lambda_package(
                work / "without", cache=args.wheel_cache, target=target, bytecode=False
            )
            variants = {
                "shipped bytecode": with_bytecode.artefact.path,
                "sources only": sources.artefact.path,
            }
        first = next(iter(variants.values()))
        print(
            "heaviest parts of the package (unpacked): "
            + ", ".join(
                f"{name} {size / 1e6:.1f} MB" for name, size in heaviest_distributions(first)
            )
        )
        for label, package in variants.items():
            report_variant(label, package, work, sdk, args.repeat)


if __name__ == "__main__":
    main()
