"""Mapping bundle versions for the operator: `siesa map history | promote | pin | unpin`.

Every bundle a deploy uploads stays in the config bucket under its version
(contract/versions.py). `promote` points `mappings/current.json` at one of
them (going back is promoting the previous one); `pin` makes one client's runs
use a version whatever is current, by the client item's `bundle_pin`. All four
are operator actions with the operator's (the deploy role's) credentials: the
bucket policy lets only the deploy role write under `mappings/`, and no tenant
role may write `bundle_pin` (infra/template.yaml), so a function cannot move a
client to another version. A version is verified (signature, then its hash)
before it is promoted or pinned, and again by every run that loads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from contract.signature import SIGNED_MANIFEST_NAME
from contract.versions import VERSIONS_DIR, is_version, short
from ops.clients import get_config
from ops.deploy.artefacts import OwnedBucket, held_current, point_current
from ops.deployment import Deployment, resolve, translate_aws_errors
from ops.errors import InputError
from runtime import settings
from runtime.config import ClientConfig
from runtime.config_store import iso_utc
from runtime.errors import IntegrationError

MIN_PREFIX = 6
"""Hex digits a version may be abbreviated to (when they name exactly one)."""
LISTING_HINT = "`siesa map history` lists them"


@dataclass(frozen=True)
class BundleVersion:
    """One version in the bucket: when it was uploaded, whether it is current, who uses it."""

    sha256: str
    uploaded_at: str
    current: bool
    pinned_by: tuple[str, ...]
    used_by: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "sha256": self.sha256,
            "short": short(self.sha256),
            "uploaded_at": self.uploaded_at,
            "current": self.current,
            "pinned_by": list(self.pinned_by),
            "used_by": list(self.used_by),
        }


@dataclass(frozen=True)
class VersionHistory:
    """Every version, newest first, and the pointer."""

    versions: tuple[BundleVersion, ...]
    current: str | None
    made_current_at: str | None

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "current": self.current,
            "made_current_at": self.made_current_at,
            "versions": [version.to_json() for version in self.versions],
        }


@dataclass(frozen=True)
class Promotion:
    """What `promote` did: the version now current and the one it replaced."""

    version: str
    previous: str | None
    changed: bool


def _prefix() -> str:
    return settings.mappings_prefix()


def _bucket(target: Deployment) -> OwnedBucket:
    """The config bucket, every call naming the caller's account as its expected owner."""
    account = str(target.client("sts").get_caller_identity()["Account"])
    return OwnedBucket(target.client("s3"), target.bucket, account)


def _uploaded(target: Deployment) -> dict[str, str]:
    """version -> when its signed manifest was uploaded (ISO UTC)."""
    pattern = re.compile(
        re.escape(_prefix() + VERSIONS_DIR) + r"([0-9a-f]{64})/" + re.escape(SIGNED_MANIFEST_NAME)
    )
    found: dict[str, str] = {}
    paginator = target.client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=target.bucket, Prefix=_prefix() + VERSIONS_DIR):
        for item in page.get("Contents", []):
            match = pattern.fullmatch(item["Key"])
            if match:
                found[match[1]] = iso_utc(item["LastModified"])
    return found


def _find(text: str, known: dict[str, str]) -> str:
    """The version `text` names (in full, or a unique prefix); InputError with the close ones."""
    wanted = text.strip().lower()
    if is_version(wanted) and wanted in known:
        return wanted
    matches = (
        [version for version in known if version.startswith(wanted)]
        if len(wanted) >= MIN_PREFIX and re.fullmatch(r"[0-9a-f]+", wanted)
        else []
    )
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(short(version) for version in sorted(matches))
        raise InputError(f"{text!r} names several bundle versions ({names}); give more digits")
    if not known:
        raise InputError(f"no bundle version {text!r}: the bucket holds none yet (deploy first)")
    close = ", ".join(short(version) for version in _closest(wanted, known))
    raise InputError(f"no bundle version {text!r}; the closest: {close}; {LISTING_HINT}")


def _closest(wanted: str, known: dict[str, str], count: int = 3) -> list[str]:
    """The versions sharing the longest prefix with `wanted`."""

    def shared(version: str) -> int:
        return next(
            (at for at, (a, b) in enumerate(zip(wanted, version, strict=False)) if a != b),
            min(len(wanted), len(version)),
        )

    return sorted(known, key=lambda version: (-shared(version), version))[:count]


def _verified(target: Deployment, version: str) -> None:
    """InputError unless the version's signature and hash verify (as a run would check them)."""
    try:
        target.bundles().open(version)
    except IntegrationError as exc:
        raise InputError(f"bundle version {short(version)} is refused: {exc}") from None


@translate_aws_errors
def history(*, deployment: Deployment | None = None) -> VersionHistory:
    """Every version in the bucket, newest first, with the clients that use each."""
    target = resolve(deployment)
    uploaded = _uploaded(target)
    pointer = held_current(_bucket(target), _prefix())
    current = pointer.sha256 if pointer is not None else None
    clients = target.config_store().list_clients().clients
    versions = []
    for version in sorted(uploaded, key=lambda found: (uploaded[found], found), reverse=True):
        pinned = tuple(c.client_id for c in clients if c.bundle_pin == version)
        unpinned = tuple(c.client_id for c in clients if c.bundle_pin is None)
        used = tuple(sorted(pinned + (unpinned if version == current else ())))
        versions.append(BundleVersion(version, uploaded[version], version == current, pinned, used))
    return VersionHistory(
        tuple(versions), current, pointer.made_current_at if pointer is not None else None
    )


@translate_aws_errors
def promote(
    version: str, *, deployment: Deployment | None = None, now: str | None = None
) -> Promotion:
    """Make `version` the current one (unpinned clients use it from their next run)."""
    target = resolve(deployment)
    found = _find(version, _uploaded(target))
    _verified(target, found)
    bucket = _bucket(target)
    held = held_current(bucket, _prefix())
    previous = held.sha256 if held is not None else None
    written = point_current(bucket, _prefix(), found, now=now)
    return Promotion(found, previous, written is not None)


@translate_aws_errors
def pin(client_id: str, version: str, *, deployment: Deployment | None = None) -> ClientConfig:
    """Pin a client to `version`: its runs use it whatever is current."""
    target = resolve(deployment)
    get_config(target, client_id)  # UnknownClient before anything else
    found = _find(version, _uploaded(target))
    _verified(target, found)
    return target.config_store().set_pin(client_id, found)


@translate_aws_errors
def unpin(client_id: str, *, deployment: Deployment | None = None) -> ClientConfig:
    """Let a client's runs use the current version again."""
    target = resolve(deployment)
    get_config(target, client_id)
    return target.config_store().set_pin(client_id, None)
