"""Loads compiled mapping modules from the signed bundle in S3; nothing of a module runs unchecked.

A bundle version is `s3://$CONFIG_BUCKET/$MAPPINGS_PREFIX/versions/{sha256}/`
holding `signed-manifest.json` (the compiler's manifest and the deploy's
signature of it, contract/signature.py) and one module per mapping
(docs/architecture.md, "Bundle trust"); contract/versions.py says how versions
are laid out. Which version: the one the client is pinned to (its item's
`bundle_pin`), else the one `current.json` names; a bucket written before
versions existed (no `current.json`) is read as one version at the prefix
itself, until the next deploy writes the pointer. Four checks, in this order,
before a module runs:
1. the manifest's signature verifies with the deployment's mapping-signing
   key (runtime/bundle_trust.py): otherwise BundleSignatureError, and not
   even the manifest is read; an old version still verifies (it was signed),
   a pinned version whose signature fails is refused like any forged bundle;
1b. the verified manifest hashes to the version asked for (BundleIntegrityError);
2. the module's bytes hash to the manifest entry's `module_sha256`;
3. the `MAPPING` the module's text declares (read as a literal, not run)
   agrees with the entry (name, product type, version, source and source
   hash, compiler version), so an entry pointing at another valid module is caught.
A failed 2 or 3 is a BundleIntegrityError; the run stops, never retried.
Loaded mappings are cached per container by their module's hash, so a warm
Lambda compiles each mapping once and a new bundle (new hash) is picked up
on the next invocation; the signature is checked on every load (a verified
envelope is remembered, so that costs one KMS call per new bundle).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import BundleContractError, BundleTamperedError
from contract.loaded import LoadedMapping, check_agreement, load_mapping
from contract.manifest import MAPPING_NAME_PATTERN, Manifest
from contract.signature import SIGNED_MANIFEST_NAME
from contract.versions import CurrentVersion, current_key, version_of, version_prefix
from runtime import aws, bundle_trust, settings
from runtime.bundle_trust import ManifestVerifier
from runtime.errors import BundleIntegrityError, MappingBundleError

_lock = threading.Lock()
_loaded: dict[str, LoadedMapping] = {}


def clear_cache() -> None:
    """Forget every loaded mapping and verified signature (tests)."""
    with _lock:
        _loaded.clear()
    bundle_trust.clear_cache()


def cached_hashes() -> frozenset[str]:
    """Hashes of the modules this container holds."""
    with _lock:
        return frozenset(_loaded)


@contextmanager
def _as_runtime_errors() -> Iterator[None]:
    """The contract's refusals as the errors the workflow names (runtime/errors.py)."""
    try:
        yield
    except (MappingBundleError, BundleIntegrityError):
        raise
    except BundleTamperedError as exc:
        raise BundleIntegrityError(str(exc)) from None
    except BundleContractError as exc:
        raise MappingBundleError(str(exc)) from None


@dataclass(frozen=True)
class OpenedVersion:
    """A bundle version whose signed manifest verified: its hash, where its files are, its manifest."""

    sha256: str
    prefix: str
    manifest: Manifest
    where: str


@dataclass(frozen=True)
class VersionedMapping:
    """A loaded mapping and the bundle version it came from."""

    version: str
    mapping: LoadedMapping


class BundleLoader:
    """Loads a mapping by name from one bucket's signed bundle versions."""

    def __init__(
        self,
        bucket: str | None = None,
        prefix: str | None = None,
        *,
        s3: Any | None = None,
        verifier: ManifestVerifier | None = None,
    ) -> None:
        self.bucket = settings.config_bucket(bucket)
        self.prefix = settings.mappings_prefix(prefix)
        self.s3 = s3 if s3 is not None else aws.client("s3")
        self.verifier = verifier if verifier is not None else ManifestVerifier()

    @property
    def manifest_url(self) -> str:
        """Where the legacy (unversioned) signed manifest is, for messages."""
        return self._url(self.prefix + SIGNED_MANIFEST_NAME)

    def _url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _get(self, key: str, what: str) -> bytes | None:
        """The object's bytes; None when there is none."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket"):
                return None
            raise MappingBundleError(
                f"{what} {self._url(key)} could not be read ({code})"
            ) from None
        try:
            return bytes(body.read())
        finally:
            body.close()

    def _read(self, key: str, what: str) -> bytes:
        """The object's bytes; MappingBundleError when there is none."""
        data = self._get(key, what)
        if data is None:
            raise MappingBundleError(
                f"{what} {self._url(key)} is missing; compile the mappings and upload the bundle"
            )
        return data

    def current_version(self) -> str | None:
        """The version `current.json` names; None when the bucket predates versions."""
        key = current_key(self.prefix)
        data = self._get(key, "current bundle version")
        if data is None:
            return None
        with _as_runtime_errors():
            return CurrentVersion.from_json(data, self._url(key)).sha256

    def open(self, version: str | None = None) -> OpenedVersion:
        """A version (`version`, else the current one), its signature and its hash checked."""
        if version is None:
            version = self.current_version()
        if version is None:  # a bucket deployed before versions: one bundle at the prefix
            prefix = self.prefix
        else:
            with _as_runtime_errors():
                prefix = version_prefix(self.prefix, version)
        key = prefix + SIGNED_MANIFEST_NAME
        where = self._url(key)
        what = "mapping bundle manifest" if version is None else f"bundle version {version[:12]}"
        signed = self.verifier.manifest(self._read(key, what), where)
        found = version_of(signed)
        if version is not None and found != version:
            raise BundleIntegrityError(
                f"{where} is signed, but its manifest hashes to {found[:12]}, not to the "
                f"version {version[:12]} it is stored as: refused, no module is loaded"
            )
        with _as_runtime_errors():
            manifest = Manifest.from_json(signed, where)
        return OpenedVersion(found, prefix, manifest, where)

    def manifest(self, version: str | None = None) -> Manifest:
        """A version's manifest, its signature verified, exactly as the compiler wrote it."""
        return self.open(version).manifest

    def load(
        self, name: str, *, product_type: str | None = None, version: str | None = None
    ) -> LoadedMapping:
        """The compiled mapping `name` of `version` (else the current one), hash-checked."""
        return self.load_version(name, product_type=product_type, version=version).mapping

    def load_version(
        self, name: str, *, product_type: str | None = None, version: str | None = None
    ) -> VersionedMapping:
        """`load`, with the version the mapping came from (what a run records)."""
        if not isinstance(name, str) or not re.fullmatch(MAPPING_NAME_PATTERN, name):
            raise MappingBundleError(
                f"mapping name {str(name)[:80]!r} must match {MAPPING_NAME_PATTERN}"
            )
        opened = self.open(version)
        where = opened.where
        with _as_runtime_errors():
            entry = opened.manifest.entry(name, where)
            with _lock:
                cached = _loaded.get(entry.module_sha256)
            if cached is None:
                key = opened.prefix + entry.module
                source = self._read(key, f"mapping module {name!r}")
                mapping = load_mapping(source, entry, name=name, origin=self._url(key), where=where)
                with _lock:
                    _loaded[entry.module_sha256] = mapping
            else:
                mapping = cached if cached.entry == entry else LoadedMapping(cached.module, entry)
                check_agreement(mapping, name, where)
        if product_type is not None and mapping.product_type != product_type:
            raise MappingBundleError(
                f"mapping {name!r} is for product {mapping.product_type!r}, but the client's product is {product_type!r}"
            )
        return VersionedMapping(opened.sha256, mapping)
