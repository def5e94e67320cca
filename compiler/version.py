"""The compiler's version: written into every generated module and bundle manifest.

Change it whenever generated code changes for the same `.map` file, so that a
bundle says which compiler made it.
"""

from __future__ import annotations

COMPILER_VERSION = "1.0.0"
