"""The one loader of generated code: a fresh module, its lines in tracebacks, nothing in sys.modules."""

from __future__ import annotations

import hashlib
import linecache
import sys
import traceback

import pytest

from contract.codeloader import code_filename, load_module
from contract.errors import BundleContractError

SOURCE = b"MAPPING = {'name': 'demo'}\n\n\ndef fail():\n    return 1 // 0\n"
DIGEST = hashlib.sha256(SOURCE).hexdigest()


def test_the_module_runs_from_the_text_and_is_registered_nowhere_but_linecache() -> None:
    before = set(sys.modules)
    module = load_module(SOURCE, "demo-map", DIGEST, "bundle/demo.py")
    assert module.MAPPING == {"name": "demo"}
    assert (module.__name__, module.__file__) == ("siesa_mappings.demo_map", "bundle/demo.py")
    assert set(sys.modules) == before
    filename = code_filename("demo-map", DIGEST)
    assert filename == f"<mapping demo-map {DIGEST[:12]}>"
    assert linecache.getline(filename, 5) == "    return 1 // 0\n"


def test_a_traceback_shows_the_generated_line() -> None:
    module = load_module(SOURCE, "demo", DIGEST, "demo.py")
    with pytest.raises(ZeroDivisionError) as raised:
        module.fail()
    shown = "".join(traceback.format_exception(raised.value))
    assert f'File "<mapping demo {DIGEST[:12]}>", line 5, in fail' in shown
    assert "return 1 // 0" in shown


def test_each_load_is_a_fresh_module() -> None:
    first = load_module(SOURCE, "demo", DIGEST, "demo.py")
    second = load_module(SOURCE, "demo", DIGEST, "demo.py")
    first.MAPPING["name"] = "changed"
    assert second.MAPPING == {"name": "demo"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"def broken(:\n", r"^mapping module s3://b/m\.py does not compile: "),
        (b"\xff\xfe", r"^mapping module s3://b/m\.py does not compile: "),
        (b"import nothing_here_at_all\n", r"failed to load: ModuleNotFoundError: No module named"),
    ],
)
def test_text_that_does_not_compile_or_run_is_refused(source: bytes, message: str) -> None:
    with pytest.raises(BundleContractError, match=message):
        load_module(source, "m", hashlib.sha256(source).hexdigest(), "s3://b/m.py")
