"""What building and deploying raise; each names what is wrong, and what to do, in one line.

A failed deploy raises `ops.errors.DeploymentError` or one of the named
subclasses here; a failed build raises `BundleError` or one of its own.
"""

from __future__ import annotations

from ops.errors import DeploymentError, OpsError


class BundleError(OpsError):
    """A bundle cannot be built (missing wheel, bad cache, broken mapping); nothing was replaced."""


class WheelHashMismatch(BundleError):
    """A wheel's SHA-256 is not one the lock file allows for it: it is not packaged."""


class UnsafeWheelMember(BundleError):
    """A wheel names a member outside its own tree (`..`, an absolute path, a drive, a backslash)."""


class ForeignBucket(DeploymentError):
    """A bucket the deploy writes to refused a call that named the caller's account as its owner.

    S3 answers 403 to a request whose `ExpectedBucketOwner` is not the bucket's
    owner: another account holds the name (or this caller may not use it).
    Nothing is uploaded to it.
    """


class UnsignedPackage(DeploymentError):
    """Lambda code signing is on and the deploy was given no signed package to deploy."""
