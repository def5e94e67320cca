"""Loads compiled mapping modules from the bundle in S3, refusing any module whose hash is wrong.

The bundle is `s3://$CONFIG_BUCKET/$MAPPINGS_PREFIX` holding `manifest.json`
and one module per mapping (docs/architecture.md, "The mapping bundle"),
read through the contract the compiler writes it by (contract/): a manifest
of any other shape is refused. A module's bytes are hashed and compared with
the manifest BEFORE anything is compiled or run: a tampered module is a
BundleIntegrityError and is never imported. A changed manifest is refused
too: the entry for a mapping must agree with the `MAPPING` the module itself
declares (its name, product type, version, source and source hash, compiler
version), so an entry edited to point at another valid module (another
client's mapping, say) is caught. Loaded mappings are cached per container by
their module's hash, so a warm Lambda compiles each mapping once and a new
bundle (new hash) is picked up on the next invocation.
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
from contract.manifest import MANIFEST_NAME, MAPPING_NAME_PATTERN, Manifest
from runtime import aws, settings
from runtime.errors import BundleIntegrityError, MappingBundleError

_lock = threading.Lock()
_loaded: dict[str, LoadedMapping] = {}


def clear_cache() -> None:
    """Forget every loaded mapping (tests)."""
    with _lock:
        _loaded.clear()


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
    """Loads a mapping by name from one bucket's bundle."""

    def __init__(
        self, bucket: str | None = None, prefix: str | None = None, *, s3: Any | None = None
    ) -> None:
        self.bucket = settings.config_bucket(bucket)
        self.prefix = settings.mappings_prefix(prefix)
        self.s3 = s3 if s3 is not None else aws.client("s3")

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
        """The bundle's manifest, exactly as the compiler writes it."""
        key = self.prefix + MANIFEST_NAME
        data = self._get(key, "mapping bundle manifest")
        with _as_runtime_errors():
            return Manifest.from_json(data, self._url(key))

    def load(self, name: str, *, product_type: str | None = None) -> LoadedMapping:
        """The compiled mapping `name`, hash-checked; when given, its product type must match."""
        if not isinstance(name, str) or not re.fullmatch(MAPPING_NAME_PATTERN, name):
            raise MappingBundleError(
                f"mapping name {str(name)[:80]!r} must match {MAPPING_NAME_PATTERN}"
            )
        where = self._url(self.prefix + MANIFEST_NAME)
        with _as_runtime_errors():
            entry = self.manifest().entry(name, where)
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
