"""Loads compiled mapping modules from the signed bundle in S3; nothing of a module runs unchecked.

The bundle is `s3://$CONFIG_BUCKET/$MAPPINGS_PREFIX` holding
`signed-manifest.json` (the compiler's manifest and the deploy's signature of
it, contract/signature.py) and one module per mapping (docs/architecture.md,
"Bundle trust"). Three checks, in this order, before a module runs:
1. the manifest's signature verifies with the deployment's mapping-signing
   key (runtime/bundle_trust.py): otherwise BundleSignatureError, and not
   even the manifest is read;
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
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import BundleContractError, BundleTamperedError
from contract.loaded import LoadedMapping, check_agreement, load_mapping
from contract.manifest import MAPPING_NAME_PATTERN, Manifest
from contract.signature import SIGNED_MANIFEST_NAME
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


class BundleLoader:
    """Loads a mapping by name from one bucket's signed bundle."""

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
        """Where the signed manifest is, for messages."""
        return self._url(self.prefix + SIGNED_MANIFEST_NAME)

    def _url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _get(self, key: str, what: str) -> bytes:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket"):
                raise MappingBundleError(
                    f"{what} {self._url(key)} is missing; compile the mappings and upload the bundle"
                ) from None
            raise MappingBundleError(
                f"{what} {self._url(key)} could not be read ({code})"
            ) from None
        try:
            return bytes(body.read())
        finally:
            body.close()

    def manifest(self) -> Manifest:
        """The bundle's manifest, its signature verified, exactly as the compiler writes it."""
        key = self.prefix + SIGNED_MANIFEST_NAME
        data = self._get(key, "mapping bundle manifest")
        signed = self.verifier.manifest(data, self._url(key))
        with _as_runtime_errors():
            return Manifest.from_json(signed, self._url(key))

    def load(self, name: str, *, product_type: str | None = None) -> LoadedMapping:
        """The compiled mapping `name`, hash-checked; when given, its product type must match."""
        if not isinstance(name, str) or not re.fullmatch(MAPPING_NAME_PATTERN, name):
            raise MappingBundleError(
                f"mapping name {str(name)[:80]!r} must match {MAPPING_NAME_PATTERN}"
            )
        where = self.manifest_url
        manifest = self.manifest()
        with _as_runtime_errors():
            entry = manifest.entry(name, where)
            with _lock:
                cached = _loaded.get(entry.module_sha256)
            if cached is None:
                key = self.prefix + entry.module
                source = self._get(key, f"mapping module {name!r}")
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
        return mapping
