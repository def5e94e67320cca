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
"""

from __future__ import annotations

import importlib.util
import marshal
import sys
from collections.abc import Iterable
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


def compile_entry(entry: Entry, target: LambdaTarget) -> Entry | None:
    """The `.pyc` entry of a `.py` entry; None for other files and for sources that do not compile."""
    if not entry.name.endswith(".py"):
        return None
    try:
        code = compile(
            entry.data, f"{TASK_ROOT}/{entry.name}", "exec", dont_inherit=True, optimize=0
        )
    except (SyntaxError, ValueError):  # e.g. a wheel's Python 2 example; importing it fails anyway
        return None
    data = bytearray(importlib.util.MAGIC_NUMBER)
    data += _UNCHECKED_HASH_FLAGS.to_bytes(4, "little")
    data += importlib.util.source_hash(entry.data)
    data += marshal.dumps(code)
    return Entry(_pyc_name(entry.name, target), bytes(data))


def with_bytecode(entries: Iterable[Entry], target: LambdaTarget) -> list[Entry]:
    """`entries` plus a `.pyc` beside each Python source that compiles."""
    listed = list(entries)
    compiled = [compile_entry(entry, target) for entry in listed]
    return listed + [entry for entry in compiled if entry is not None]
