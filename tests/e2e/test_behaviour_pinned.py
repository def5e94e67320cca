"""Behaviour pinned across refactors: `siesa demo`'s output and the compiled mapping modules.

Recorded before the packages were rearranged (runtime/ as the Lambda only), and
kept: a change of layout must not change what an operator sees or what a bundle
runs. Both run the installed `siesa` console script, as a user would, so the
test does not depend on where the code lives. Set SIESA_UPDATE_GOLDEN=1 to
record new golden files after a deliberate change of behaviour.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parents[2]
SIESA = Path(sys.executable).with_name("siesa")

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"\b\d+\.\d s\b"), "N.N s"),
    (re.compile(r"/tmp/[^\s/]+"), "/tmp/DIR"),
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


def _check(name: str, actual: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("SIESA_UPDATE_GOLDEN") == "1":
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8"), f"{name} changed"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "AWS_ENDPOINT_URL")}
    return subprocess.run(
        [str(SIESA), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.skipif(not SIESA.exists(), reason="the siesa console script is not installed")
def test_the_demo_prints_what_it_printed_before_the_packages_moved(tmp_path: Path) -> None:
    result = _run("demo", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    _check("demo.txt", normalise(result.stdout))


@pytest.mark.skipif(not SIESA.exists(), reason="the siesa console script is not installed")
def test_the_compiled_mapping_modules_are_byte_for_byte_the_same(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = _run("map", "compile", "mappings", "--out", str(out), cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    hashes = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.glob("*.py"))
    }
    assert len(hashes) >= 4
    _check("mapping_modules.json", json.dumps(hashes, indent=2, sort_keys=True) + "\n")


def test_normalise_masks_what_changes_between_runs() -> None:
    text = (
        "cliente-b: success in 2.2 s\ncliente-a: loading\ncliente-a: success in 6.1 s\n"
        "at http://127.0.0.1:35315 run 20250115T100000123Z-3f9a1c logs /tmp/siesa-demo-x/h.log\n"
    )
    assert normalise(text) == (
        "cliente-a: success in N.N s\ncliente-b: success in N.N s\n"
        "at http://127.0.0.1:PORT run RUN_ID logs /tmp/DIR/h.log\n"
    )
    assert normalise("┏━━━┳━━┓\n│ a │  9.8 s │") == "┏━┳━┓\n│ a │ N.N s │\n"
