"""What breaking the contract raises: one line each, safe to log.

The runtime subclasses both (runtime/errors.py) so that the names the state
machine sees, `MappingBundleError` and `BundleIntegrityError`, stay its own.
"""

from __future__ import annotations


class BundleContractError(Exception):
    """A manifest or a module is not what the compiler writes (the message says where and why)."""


class BundleTamperedError(BundleContractError):
    """A module's bytes or its declaration differ from its manifest entry: refused, never run."""
