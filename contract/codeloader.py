"""The one loader of generated code: module text -> a fresh module, nothing on disk or in sys.modules.

Used by the runtime for a bundle's verified bytes and by the compiler for the
text it just generated (examples, `siesa map run`). The code is compiled
under a self-describing file name (`<mapping NAME SHA256[:12]>`) registered in
`linecache`, so tracebacks and debuggers show the generated lines, and the
frames of this module can be told apart from everyone else's (contract/linemap.py).
"""

from __future__ import annotations

import linecache
from types import ModuleType

from contract.errors import BundleContractError

MODULE_PACKAGE = "siesa_mappings"
"""The dotted prefix of a loaded module's `__name__` (no such package exists)."""


def code_filename(name: str, sha256: str) -> str:
    """The file name tracebacks show for mapping `name`'s module with hash `sha256`."""
    return f"<mapping {name} {sha256[:12]}>"


def load_module(source: bytes, name: str, sha256: str, origin: str) -> ModuleType:
    """Run module text as a new module; BundleContractError when it does not compile or run.

    `origin` says where the text came from (a bundle file, an s3:// URL) and
    becomes the module's `__file__`; `sha256` is the hash of `source`, already
    checked by the caller.
    """
    filename = code_filename(name, sha256)
    try:
        text = source.decode("utf-8")
        code = compile(text, filename, "exec", dont_inherit=True)
    except (UnicodeDecodeError, SyntaxError) as exc:
        raise BundleContractError(f"mapping module {origin} does not compile: {exc}") from None
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    module = ModuleType(f"{MODULE_PACKAGE}.{name.replace('-', '_')}")
    module.__file__ = origin
    try:
        exec(code, module.__dict__)  # nosec B102 # a generated module, run only after load_mapping checked its hash and MAPPING against the (signed) manifest entry
    except Exception as exc:
        raise BundleContractError(
            f"mapping module {origin} failed to load: {type(exc).__name__}: {exc}"
        ) from None
    return module
