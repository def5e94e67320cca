"""Behaviour pinned across refactors: the compiled mapping modules (and, in test_demo.py, the demo's output).

Recorded before the packages were rearranged (runtime/ as the Lambda only), and
kept: a change of layout must not change what a bundle runs. The modules are
compiled by the installed `siesa` console script, as a user would, so the test
does not depend on where the code lives. Set SIESA_UPDATE_GOLDEN=1 to record
new golden files after a deliberate change of behaviour.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pinned import check_golden, normalise

REPO = Path(__file__).resolve().parents[2]
SIESA = Path(sys.executable).with_name("siesa")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "AWS_ENDPOINT_URL")}
    return subprocess.run(
        [str(SIESA), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


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
    check_golden("mapping_modules.json", json.dumps(hashes, indent=2, sort_keys=True) + "\n")


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
