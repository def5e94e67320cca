"""Loads compiled mapping modules from the bundle in S3, refusing any module whose hash is wrong.

The bundle is `s3://$CONFIG_BUCKET/$MAPPINGS_PREFIX` holding `manifest.json`
and one module per mapping (docs/architecture.md, "The mapping bundle").
A module's bytes are hashed and compared with the manifest BEFORE anything
is compiled or run: a tampered module is a BundleIntegrityError and is never
imported. A changed manifest is refused too: the entry for a mapping must
agree with the `MAPPING` the module itself declares (its name, product type,
version, source and source hash, compiler version), so an entry edited to
point at another valid module (another client's mapping, say) is caught. The module runs from those verified bytes (it is compiler output
importing only the standard library), and is cached per container by its
hash, so a warm Lambda compiles each mapping once and a new bundle (new
hash) is picked up on the next invocation.
"""

from __future__ import annotations

import hashlib
import json
import linecache
import re
import threading
from types import ModuleType
from typing import Any

from botocore.exceptions import ClientError

from runtime import aws, settings
from runtime.errors import BundleIntegrityError, MappingBundleError

MANIFEST_NAME = "manifest.json"
MAPPING_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
MODULE_PATH_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.py$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
REQUIRED_CALLABLES = ("to_canonical", "to_product")
AGREEING_FIELDS = ("product_type", "version", "source", "source_sha256", "compiler_version")
"""Fields a manifest entry and its module's MAPPING both carry; they must agree."""

_lock = threading.Lock()
_modules: dict[str, ModuleType] = {}


def clear_cache() -> None:
    """Forget every loaded module (tests)."""
    with _lock:
        _modules.clear()


def cached_hashes() -> frozenset[str]:
    """Hashes of the modules this container holds."""
    with _lock:
        return frozenset(_modules)


def sha256_hex(data: bytes) -> str:
    """SHA-256 of `data`, lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def manifest_entry(manifest: Any, name: str, where: str) -> dict[str, Any]:
    """The manifest's entry for mapping `name` (mappings as an object keyed by name, or a list)."""
    if not isinstance(manifest, dict):
        raise MappingBundleError(f"{where} is not a JSON object")
    mappings = manifest.get("mappings")
    entries: dict[str, Any]
    if isinstance(mappings, dict):
        entries = mappings
    elif isinstance(mappings, list):
        entries = {str(entry.get("name")): entry for entry in mappings if isinstance(entry, dict)}
    else:
        raise MappingBundleError(f"{where} has no `mappings`")
    entry = entries.get(name)
    if not isinstance(entry, dict):
        known = ", ".join(sorted(str(key) for key in entries)) or "none"
        raise MappingBundleError(f"{where} has no mapping {name!r}; it holds: {known}")
    return entry


def _entry_module(entry: dict[str, Any], name: str, where: str) -> tuple[str, str]:
    """(module file, expected sha256) of an entry, both checked for shape."""
    module = entry.get("module", entry.get("file"))
    if not isinstance(module, str) or not re.fullmatch(MODULE_PATH_PATTERN, module):
        raise MappingBundleError(f"{where}: mapping {name!r} names no valid module file")
    digest = entry.get("sha256", entry.get("module_sha256"))
    if not isinstance(digest, str) or not re.fullmatch(SHA256_PATTERN, digest.lower()):
        raise MappingBundleError(f"{where}: mapping {name!r} has no valid sha256")
    return module, digest.lower()


def module_from_source(source: bytes, name: str, digest: str, origin: str) -> ModuleType:
    """Run verified compiler output as a module (registered in linecache for tracebacks)."""
    filename = f"<mapping {name} {digest[:12]}>"
    try:
        text = source.decode("utf-8")
        code = compile(text, filename, "exec", dont_inherit=True)
    except (UnicodeDecodeError, SyntaxError) as exc:
        raise MappingBundleError(f"mapping module {origin} does not compile: {exc}") from None
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    module = ModuleType(f"siesa_mappings.{name.replace('-', '_')}")
    module.__file__ = origin
    module.__dict__["__sha256__"] = digest
    try:
        exec(code, module.__dict__)
    except Exception as exc:
        raise MappingBundleError(
            f"mapping module {origin} failed to load: {type(exc).__name__}: {exc}"
        ) from None
    missing = [attr for attr in REQUIRED_CALLABLES if not callable(getattr(module, attr, None))]
    if missing or not isinstance(getattr(module, "MAPPING", None), dict):
        lacking = ", ".join(
            missing + ([] if isinstance(getattr(module, "MAPPING", None), dict) else ["MAPPING"])
        )
        raise MappingBundleError(f"mapping module {origin} lacks {lacking}")
    return module


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

    def manifest(self) -> dict[str, Any]:
        """The bundle's manifest."""
        key = self.prefix + MANIFEST_NAME
        try:
            manifest = json.loads(self._get(key, "mapping bundle manifest"))
        except ValueError:
            raise MappingBundleError(f"{self._url(key)} is not valid JSON") from None
        if not isinstance(manifest, dict):
            raise MappingBundleError(f"{self._url(key)} is not a JSON object")
        return manifest

    def load(self, name: str, *, product_type: str | None = None) -> ModuleType:
        """The compiled mapping `name`, hash-checked; when given, its product type must match."""
        if not isinstance(name, str) or not re.fullmatch(MAPPING_NAME_PATTERN, name):
            raise MappingBundleError(
                f"mapping name {str(name)[:80]!r} must match {MAPPING_NAME_PATTERN}"
            )
        where = self._url(self.prefix + MANIFEST_NAME)
        entry = manifest_entry(self.manifest(), name, where)
        module_file, expected = _entry_module(entry, name, where)
        with _lock:
            module = _modules.get(expected)
        if module is None:
            key = self.prefix + module_file
            source = self._get(key, f"mapping module {name!r}")
            actual = sha256_hex(source)
            if actual != expected:
                raise BundleIntegrityError(
                    f"mapping module {self._url(key)} has SHA-256 {actual}, but the manifest "
                    f"says {expected}: refused, not imported"
                )
            module = module_from_source(source, name, expected, self._url(key))
            with _lock:
                _modules[expected] = module
        check_agreement(module, entry, name, module_file, where)
        declared = mapping_product_type(module) or entry.get("product_type")
        if product_type is not None and declared is not None and declared != product_type:
            raise MappingBundleError(
                f"mapping {name!r} is for product {declared!r}, but the client's product is {product_type!r}"
            )
        return module


def check_agreement(
    module: ModuleType, entry: dict[str, Any], name: str, module_file: str, where: str
) -> None:
    """The module is the mapping the manifest entry says; BundleIntegrityError otherwise."""
    declared = getattr(module, "MAPPING", {})
    problems = []
    if "name" in declared and declared["name"] != name:
        problems.append(f"it is mapping {declared['name']!r}")
    for field in AGREEING_FIELDS:
        if field in entry and field in declared and entry[field] != declared[field]:
            problems.append(
                f"its {field} is {declared[field]!r}, the manifest says {entry[field]!r}"
            )
    if problems:
        raise BundleIntegrityError(
            f"{where}: the entry for mapping {name!r} names module {module_file}, but "
            + "; ".join(problems)
            + ": the manifest was changed; refused"
        )


def mapping_product_type(module: ModuleType) -> str | None:
    """The product type a compiled mapping declares in MAPPING."""
    mapping = getattr(module, "MAPPING", None)
    value = mapping.get("product_type") if isinstance(mapping, dict) else None
    return value if isinstance(value, str) else None
