"""What building and deploying raise: one line each, safe to print."""

from __future__ import annotations

from ops.errors import OpsError


class BundleError(OpsError):
    """A bundle cannot be built (missing wheel, bad cache, broken mapping); nothing was replaced."""


class DeployError(OpsError):
    """A deploy failed or cannot start; the message names the step, the resource and the reason."""
