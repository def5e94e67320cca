"""What building a bundle raises; a failed deploy raises `ops.errors.DeploymentError`."""

from __future__ import annotations

from ops.errors import OpsError


class BundleError(OpsError):
    """A bundle cannot be built (missing wheel, bad cache, broken mapping); nothing was replaced."""
