"""Bytecode for the package, compiled fresh and byte-identical from build to build.

Lambda unpacks the package into a read-only /var/task, so Python cannot
cache bytecode there: without shipped `.pyc` files every cold start compiles
every imported module from source, which doubles the handlers' import time
(docs/benchmarks.md, "Lambda package"). The `.pyc` files are built here from
the package's own sources, never copied from a working tree: hash-based and
unchecked (no timestamps; the code is read-only anyway), each compiled under
its Lambda path (/var/task/...) rather than wherever the build ran, so the
bytes do not depend on the build directory. They are valid only for the
CPython version that writes them, so they are built only when this
interpreter is the target's version.

`marshal` is not a pure function of the code it writes: a string's reference
count decides whether it is written once and referred to, and the hash seed
decides the order of a frozenset constant. So the sources are compiled in a
fresh, isolated interpreter with a fixed hash seed, the same for every build,
never in the process that happens to run the build (whose state depends on
everything it did before).
"""

from __future__ import annotations

import importlib.util
import marshal
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

from ops.deploy.reprozip import Entry
from ops.deploy.target import LambdaTarget

TASK_ROOT = "/var/task"
_UNCHECKED_HASH_FLAGS = 0b01  # PEP 552: hash-based, source not checked


def can_compile_for(target: LambdaTarget) -> bool:
    """Bytecode is version-specific: only a CPython of the target's version may write it."""
    return sys.implementation.name == "cpython" and sys.version_info[:2] == target.python


def _pyc_name(source_name: str, target: LambdaTarget) -> str:
    path = PurePosixPath(source_name)
    tag = f"cpython-{target.python[0]}{target.python[1]}"
    return str(path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc")


_COMPILE_IN_CLEAN_INTERPRETER = """
import marshal, sys
out = []
for source, filename in marshal.load(sys.stdin.buffer):
    try:
        out.append(marshal.dumps(compile(source, filename, "exec", dont_inherit=True, optimize=0)))
    except (SyntaxError, ValueError):  # e.g. a wheel's Python 2 example; importing it fails anyway
        out.append(None)
marshal.dump(out, sys.stdout.buffer)
"""


def _compiled(sources: Sequence[Entry]) -> list[bytes | None]:
    """Each source's marshalled code object (None where it does not compile), reproducibly."""
    request = marshal.dumps([(entry.data, f"{TASK_ROOT}/{entry.name}") for entry in sources])
    done = subprocess.run(  # nosec B603 # this interpreter, isolated, running the constant program above
        [sys.executable, "-I", "-c", _COMPILE_IN_CLEAN_INTERPRETER],
        input=request,
        capture_output=True,
        env={"PYTHONHASHSEED": "0"},
        check=True,
    )
    result: list[bytes | None] = marshal.loads(done.stdout)  # nosec B302 # written by our own child process just above
    return result


def _pyc(entry: Entry, code: bytes, target: LambdaTarget) -> Entry:
    data = bytearray(importlib.util.MAGIC_NUMBER)
    data += _UNCHECKED_HASH_FLAGS.to_bytes(4, "little")
    data += importlib.util.source_hash(entry.data)
    data += code
    return Entry(_pyc_name(entry.name, target), bytes(data))


def with_bytecode(entries: Iterable[Entry], target: LambdaTarget) -> list[Entry]:
    """`entries` plus a `.pyc` beside each Python source that compiles."""
    listed = list(entries)
    sources = [entry for entry in listed if entry.name.endswith(".py")]
    compiled = _compiled(sources)
    return listed + [
        _pyc(entry, code, target)
        for entry, code in zip(sources, compiled, strict=True)
        if code is not None
    ]
