"""The mapping bundle loader: signature, then hash and declaration before import, cache by hash."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest
from moto_platform import put_signed_manifest

from contract.signature import SIGNED_MANIFEST_NAME, SignedManifest
from ops.deploy.signing import ManifestSigner
from runtime import aws as aws_clients
from runtime import mapping_loader, settings
from runtime.bundle_trust import ManifestVerifier
from runtime.errors import BundleIntegrityError, BundleSignatureError, MappingBundleError
from runtime.mapping_loader import BundleLoader

SIDE_EFFECT = "SIESA_TEST_BUNDLE_MODULE_RAN"


def test_loads_a_verified_module_and_runs_it(aws: Any, kong_mapping_source: str) -> None:
    aws.put_bundle({"kong": kong_mapping_source})
    mapping = BundleLoader().load("kong", product_type="kong")
    canonical, issues = mapping.to_canonical(
        {"f_codigo": " P1 ", "f_nombre": "Camisa", "f_cantidad": "3.0"}
    )
    assert canonical == {
        "id": "P1",
        "name": "Camisa",
        "stock_quantity": 3,
        "ean": None,
        "rfid_tag_id": None,
    }
    assert issues == []
    assert mapping.to_product(canonical)["product_id"] == "P1"
    assert mapping.sha256 == hashlib.sha256(kong_mapping_source.encode()).hexdigest()
    assert (mapping.name, mapping.product_type, mapping.entry.module) == ("kong", "kong", "kong.py")


def test_modules_are_cached_by_hash(aws: Any, kong_mapping_source: str) -> None:
    manifest = aws.put_bundle({"kong": kong_mapping_source})
    first = BundleLoader().load("kong")
    assert BundleLoader().load("kong") is first
    assert mapping_loader.cached_hashes() == {manifest["mappings"]["kong"]["module_sha256"]}
    changed = kong_mapping_source + "\nEXTRA = 1\n"
    aws.put_bundle({"kong": changed})
    second = BundleLoader().load("kong")
    assert second is not first and second.module.EXTRA == 1


def test_a_tampered_module_is_refused_and_never_run(aws: Any, kong_mapping_source: str) -> None:
    aws.put_bundle({"kong": kong_mapping_source})
    tampered = f"import os\nos.environ[{SIDE_EFFECT!r}] = '1'\n" + kong_mapping_source
    aws.s3.put_object(Bucket=aws.bucket, Key="mappings/kong.py", Body=tampered.encode())
    with pytest.raises(
        BundleIntegrityError, match=r"s3://siesa-integration-config/mappings/kong.py .*refused"
    ):
        BundleLoader().load("kong")
    assert SIDE_EFFECT not in os.environ
    assert mapping_loader.cached_hashes() == frozenset()


def test_a_changed_manifest_hash_is_refused(aws: Any, kong_mapping_source: str) -> None:
    """Signed by the deploy, but its entry names other bytes: the hash check refuses it."""
    manifest = aws.put_bundle({"kong": kong_mapping_source})
    manifest["mappings"]["kong"]["module_sha256"] = hashlib.sha256(b"something else").hexdigest()
    put_signed_manifest(aws.s3, aws.bucket, json.dumps(manifest).encode())
    with pytest.raises(BundleIntegrityError, match="SHA-256"):
        BundleLoader().load("kong")


def _planted(aws: Any, kong_mapping_source: str) -> tuple[bytes, dict[str, Any]]:
    """A module with an import-time side effect, and the manifest recomputed for it (unsigned)."""
    planted = f"import os\nos.environ[{SIDE_EFFECT!r}] = '1'\n{kong_mapping_source}".encode()
    manifest = aws.put_bundle({"kong": kong_mapping_source})
    manifest["mappings"]["kong"]["module_sha256"] = hashlib.sha256(planted).hexdigest()
    aws.s3.put_object(Bucket=aws.bucket, Key="mappings/kong.py", Body=planted)
    return planted, manifest


def _envelope(aws: Any) -> SignedManifest:
    body = aws.s3.get_object(Bucket=aws.bucket, Key="mappings/" + SIGNED_MANIFEST_NAME)["Body"]
    return SignedManifest.from_json(body.read(), "test")


def test_a_recomputed_manifest_without_the_key_is_refused_before_any_module_runs(
    aws: Any, kong_mapping_source: str
) -> None:
    """Write access to mappings/ but not the key: the old signature no longer matches."""
    _, manifest = _planted(aws, kong_mapping_source)
    old = _envelope(aws)
    forged = SignedManifest.of(
        json.dumps(manifest).encode(), old.signature_bytes("test"), old.key_id
    )
    aws.s3.put_object(
        Bucket=aws.bucket, Key="mappings/" + SIGNED_MANIFEST_NAME, Body=forged.to_json()
    )
    with pytest.raises(BundleSignatureError, match=r"signature does not verify"):
        BundleLoader().load("kong")
    assert SIDE_EFFECT not in os.environ
    assert mapping_loader.cached_hashes() == frozenset()


def test_a_manifest_signed_with_another_key_is_refused(aws: Any, kong_mapping_source: str) -> None:
    """The envelope names its signer, but the loader verifies with the deployment's key only."""
    _, manifest = _planted(aws, kong_mapping_source)
    kms = aws_clients.client("kms")
    own = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    envelope = ManifestSigner(kms, own).sign(json.dumps(manifest).encode())
    aws.s3.put_object(Bucket=aws.bucket, Key="mappings/" + SIGNED_MANIFEST_NAME, Body=envelope)
    with pytest.raises(BundleSignatureError, match=r"signature does not verify"):
        BundleLoader().load("kong")
    assert SIDE_EFFECT not in os.environ


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"mappings": {}, "compiler_version": "x"}', r"is not a signed manifest"),
        (b"{nope", r"is not a signed manifest"),
    ],
)
def test_an_unsigned_manifest_is_refused(
    aws: Any, kong_mapping_source: str, body: bytes, message: str
) -> None:
    aws.put_bundle({"kong": kong_mapping_source})
    aws.s3.put_object(Bucket=aws.bucket, Key="mappings/" + SIGNED_MANIFEST_NAME, Body=body)
    with pytest.raises(BundleSignatureError, match=message):
        BundleLoader().load("kong")


def test_without_a_configured_key_every_bundle_is_refused(
    aws: Any, kong_mapping_source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.put_bundle({"kong": kong_mapping_source})
    monkeypatch.delenv(settings.MAPPINGS_SIGNING_KEY_ENV)
    with pytest.raises(BundleSignatureError, match=r"no mapping-signing key is configured"):
        BundleLoader().load("kong")


def test_a_verified_manifest_is_not_verified_again(aws: Any, kong_mapping_source: str) -> None:
    """One kms:Verify per new bundle per container; a changed bundle is verified again."""
    aws.put_bundle({"kong": kong_mapping_source})
    calls: list[str] = []

    class CountingKms:
        def verify(self, **arguments: Any) -> Any:
            calls.append(arguments["KeyId"])
            return aws_clients.client("kms").verify(**arguments)

    verifier = ManifestVerifier(kms=CountingKms())
    for _ in range(3):
        BundleLoader(verifier=verifier).load("kong")
    assert len(calls) == 1
    aws.put_bundle({"kong": kong_mapping_source + "\nEXTRA = 1\n"})
    BundleLoader(verifier=verifier).load("kong")
    assert len(calls) == 2


def test_a_missing_bundle_is_a_mapping_bundle_error(aws: Any) -> None:
    with pytest.raises(
        MappingBundleError,
        match=r"manifest s3://siesa-integration-config/mappings/signed-manifest.json is missing",
    ):
        BundleLoader().load("kong")


def test_a_missing_mapping_names_what_the_bundle_holds(aws: Any, kong_mapping_source: str) -> None:
    aws.put_bundle({"kong": kong_mapping_source})
    with pytest.raises(MappingBundleError, match=r"no mapping 'cliente-a-kong'; it holds: kong"):
        BundleLoader().load("cliente-a-kong")


def test_a_missing_module_file(aws: Any, kong_mapping_source: str) -> None:
    aws.put_bundle({"kong": kong_mapping_source})
    aws.s3.delete_object(Bucket=aws.bucket, Key="mappings/kong.py")
    with pytest.raises(MappingBundleError, match=r"mapping module 'kong'.*is missing"):
        BundleLoader().load("kong")


def test_the_mapping_must_be_for_the_clients_product(aws: Any, kong_mapping_source: str) -> None:
    aws.put_bundle({"kong": kong_mapping_source})
    with pytest.raises(MappingBundleError, match=r"for product 'kong'.*'wms'"):
        BundleLoader().load("kong", product_type="wms")


def _entry(**changes: Any) -> dict[str, Any]:
    """A manifest entry for `kong` as the compiler writes it, with `changes` (None drops a field)."""
    entry: dict[str, Any] = {
        "name": "kong",
        "product_type": "kong",
        "version": 1,
        "source": "kong.map",
        "source_sha256": "0" * 64,
        "bases": [],
        "module": "kong.py",
        "module_sha256": "0" * 64,
        "compiler_version": "test",
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


@pytest.mark.parametrize(
    ("mappings", "message"),
    [
        ({"kong": _entry(module="../../etc/kong.py")}, r"mappings\.kong\.module: names no valid"),
        ({"kong": _entry(module_sha256="abc")}, r"mappings\.kong\.module_sha256: is no valid"),
        ({"kong": _entry(module_sha256="A" * 64)}, r"module_sha256: is no valid sha256"),
        ({"kong": _entry(module=None)}, r"mappings\.kong\.module: Field required"),
        # the shapes only older tests wrote: `file` and `sha256` keys, a list of entries
        (
            {"kong": _entry(module=None, file="kong.py")},
            r"mappings\.kong\.file: is not a field the compiler writes \(and 1 more\)",
        ),
        (
            {"kong": _entry(sha256="0" * 64)},
            r"mappings\.kong\.sha256: is not a field the compiler writes$",
        ),
        ([_entry()], r"manifest\.json: mappings: Input should be .*object"),
        ({"kong": _entry(version="1")}, r"mappings\.kong\.version: Input should be a valid int"),
    ],
)
def test_a_manifest_the_compiler_would_not_write_is_refused(
    aws: Any, mappings: Any, message: str
) -> None:
    aws.put_bundle({}, manifest_override={"compiler_version": "test", "mappings": mappings})
    with pytest.raises(MappingBundleError, match=message) as refused:
        BundleLoader().load("kong")
    assert "\n" not in str(refused.value)
    assert not isinstance(refused.value, BundleIntegrityError)


def test_a_signed_manifest_that_is_not_json(aws: Any) -> None:
    put_signed_manifest(aws.s3, aws.bucket, b"{nope")
    with pytest.raises(MappingBundleError, match="not valid JSON"):
        BundleLoader().load("kong")


def test_a_module_without_the_interface_is_refused(aws: Any) -> None:
    aws.put_bundle(
        {
            "kong": "MAPPING = {'product_type': 'kong'}\ndef to_canonical(record):\n    return record, []\n"
        }
    )
    with pytest.raises(MappingBundleError, match="lacks map_record, to_product"):
        BundleLoader().load("kong")


def test_a_module_that_does_not_compile(aws: Any) -> None:
    aws.put_bundle({"kong": "def broken(:\n"})
    with pytest.raises(MappingBundleError, match="does not compile"):
        BundleLoader().load("kong")


@pytest.mark.parametrize("name", ["../kong", "Kong", "", "kong.py"])
def test_odd_mapping_names_are_refused(aws: Any, name: str) -> None:
    with pytest.raises(MappingBundleError, match="mapping name"):
        BundleLoader().load(name)


def test_the_prefix_comes_from_the_environment(
    aws: Any, kong_mapping_source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAPPINGS_PREFIX", "bundles/v2")
    aws.put_bundle({"kong": kong_mapping_source})
    assert aws.keys("bundles/v2/") == ["bundles/v2/kong.py", "bundles/v2/signed-manifest.json"]
    assert callable(BundleLoader().load("kong").to_product)
