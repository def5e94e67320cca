"""The product mappings (`.map` files), shipped as package data.

The local engine and `siesa bundle` compile this folder by default, wherever
the package is installed; a mappings repository of its own is given with
`--mappings DIR`.
"""

from __future__ import annotations

from pathlib import Path

MAPPINGS_DIR = Path(__file__).resolve().parent
