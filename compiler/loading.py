"""Running generated source held in memory as a module (examples, `siesa map run`).

The text is the compiler's own output, imported through importlib's source
loader machinery so that tracebacks and debuggers can show its lines. Nothing
is written to disk and nothing is put in `sys.modules`.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
from types import ModuleType


class _TextLoader(importlib.abc.SourceLoader):
    """A source loader whose only file is the text it was given."""

    def __init__(self, filename: str, text: str) -> None:
        self.filename = filename
        self.text = text

    def get_filename(self, fullname: str) -> str:
        return self.filename

    def get_data(self, path: str) -> bytes:
        return self.text.encode("utf-8")


def load_generated(code: str, mapping_name: str) -> ModuleType:
    """Import the generated module `code`; its file name names the mapping."""
    filename = f"<mapping {mapping_name}>"
    loader = _TextLoader(filename, code)
    module_name = "siesa_mapping_" + "".join(c if c.isalnum() else "_" for c in mapping_name)
    spec = importlib.util.spec_from_loader(module_name, loader, origin=filename)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
