"""`python -m cli ...` runs the `siesa` console script (no install needed)."""

from __future__ import annotations

from cli.app import main

if __name__ == "__main__":
    main()
