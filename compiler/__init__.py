"""The mapping compiler: `.map` files -> checked IR -> plain Python modules and bundles."""

from __future__ import annotations

from compiler.version import COMPILER_VERSION

__all__ = ["COMPILER_VERSION"]
