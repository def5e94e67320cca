"""Nobody let in: secrets stay secret, clients stay apart, only https leaves, only verified code runs.

- Unique canary values are every secret of a client; its syncs run (with
  DEBUG logs) through success, refused ERP and product keys, a secret that
  is not JSON, a product outage, and the operator commands; every log line,
  EMF record, SNS alert, exception, Step Functions history event, table item
  and run-data object is searched: no canary anywhere. (Every fault-matrix
  scenario does the same search for its clients' keys.)
- A client_id cannot reach another client's secrets or run data (path
  traversal, odd characters), through the operator library, the workflow or
  a crafted handler event.
- Product and ERP URLs must be https, except loopback; redirects are never
  followed, so a credential is never replayed to another host.
- A tampered mapping module, or a manifest changed to name another module,
  is refused when loaded, and the tampered code never runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from e2e_support import kong_client, worlds
from evidence import Evidence, assert_no_secret
from harness import ReliabilityEngine, bundle_prefix
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError
from scenario import alerts_for, runs_of, sync_together, watermark
from typer.testing import CliRunner

import ops
from cli.app import app
from contract.signature import SIGNED_MANIFEST_NAME, SignedManifest
from contract.versions import current_key, version_of, version_prefix
from local.provision import MAPPINGS_PREFIX
from local.sim import SimServer
from ops.deploy.signing import ManifestSigner
from runtime import mapping_loader, secrets
from runtime.adapters.kong import KongAdapter
from runtime.config import ClientConfig, ProductCredentials, validate_client_id
from runtime.errors import InvalidClientConfig, InvalidEvent, InvalidSecret, ProductResponseError
from runtime.handlers.loader import lambda_handler as loader_handler
from runtime.runstore import run_prefix

HOSTILE_IDS = [
    "../cliente-b",
    "cliente-a/../cliente-b",
    "cliente-b/",
    "CLIENTE-B",
    "cliente b",
    "cliente%2Fb",
    "cliente-a\x00",
    "ｃliente-a",
    "cliente-a\n",
    "-cliente",
    "cliente_a",
    ".",
    "..",
    "",
    "a" * 70,
]
TAMPER_FLAG = "SIESA_TAMPERED_MODULE_RAN"


def canary(label: str) -> str:
    return f"canary-{label}-{uuid.uuid4().hex}"


# --- secrets ---------------------------------------------------------------------------------


def test_no_canary_escapes_the_workflow_its_alerts_or_the_operator_commands(
    engine: ReliabilityEngine,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("SECRETS_TTL_SECONDS", "0")
    caplog.set_level("DEBUG")
    evidence = Evidence()
    spec = kong_client("sec-canary", seed=81)
    engine.alerts()
    with worlds(spec, products=80) as running:
        world = running[spec.client_id]
        password, token, wrong = canary("password"), canary("extra-token"), canary("wrong-key")
        engine.add(world)
        sm = engine.deployment.client("secretsmanager")
        siesa_name = f"siesa-integration/{world.client_id}/siesa"
        kong_name = f"siesa-integration/{world.client_id}/kong"
        siesa_doc = {**world.siesa_credentials(), "password": password}
        kong_doc = {**world.product_credentials(), "additional_config": {"token": token}}
        sm.put_secret_value(SecretId=siesa_name, SecretString=json.dumps(siesa_doc))
        sm.put_secret_value(SecretId=kong_name, SecretString=json.dumps(kong_doc))
        runs = [sync_together(engine, [world.client_id])[world.client_id]]  # success

        world.catalog.modify(world.catalog.ids()[:20])
        world.product.faults.set(error_503_next=13)  # past the loader's retries once: retried
        runs.append(sync_together(engine, [world.client_id], "incremental")[world.client_id])
        world.product.faults.reset()

        # records to send, so the run reaches the product whatever second the last run began in
        world.catalog.modify(world.catalog.ids()[20:30])
        world.product.keys.revoke(world.product_key)  # the product refuses its key
        runs.append(sync_together(engine, [world.client_id], "incremental")[world.client_id])
        world.product.keys.add(world.product_key, world.client_id)

        sm.put_secret_value(
            SecretId=siesa_name, SecretString=json.dumps({**siesa_doc, "api_key": wrong})
        )
        runs.append(sync_together(engine, [world.client_id], "incremental")[world.client_id])
        sm.put_secret_value(SecretId=siesa_name, SecretString='{"api_key": "' + wrong + '",')
        runs.append(sync_together(engine, [world.client_id], "incremental")[world.client_id])
        sm.put_secret_value(SecretId=siesa_name, SecretString=json.dumps(siesa_doc))

        assert [run.error for run in runs] == [
            None,
            None,
            "ProductAuthError",
            "SiesaAuthError",
            "InvalidSecret",
        ]
        for command in (
            ["reconcile", "--client", world.client_id, "--json"],
            ["replay", "--client", world.client_id, "--run", runs[2].run_id or "", "--json"],
            ["status", "--client", world.client_id, "--json"],
            ["client", "show", world.client_id, "--json"],
            *(
                ["run", action, run.run_id or "", "--json"]
                for run in runs[2:]
                for action in ("show", "failed", "logs")
            ),
        ):
            result = CliRunner().invoke(app, [*command, "--endpoint-url", engine.aws.url])
            evidence.add(f"siesa {command[0]}", result.output)
            if result.exception is not None:
                evidence.add_exception(f"siesa {command[0]}", result.exception)
        for run in runs:
            evidence.add("outcome", run.to_json())
        evidence.add_output(capsys, caplog)
        evidence.add_workflow(engine, engine.alerts(), [world.client_id])
        evidence.add_stores(engine, [world.client_id])
        assert any(record.levelname == "DEBUG" for record in caplog.records)  # DEBUG searched too
        stdout = [text for where, text in evidence.texts if where == "stdout"]
        assert any('"_aws"' in text for text in stdout)  # and EMF records
        assert_no_secret(evidence, [world.siesa_key, world.product_key, password, token, wrong])


# --- client ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("client_id", HOSTILE_IDS, ids=repr)
def test_a_hostile_client_id_reaches_no_key_and_no_secret(client_id: str) -> None:
    with pytest.raises(InvalidClientConfig):
        validate_client_id(client_id)
    with pytest.raises(InvalidClientConfig):
        run_prefix(client_id, "20250115T100000Z-3f9a1c")
    with pytest.raises(InvalidClientConfig):
        secrets.secret_name(client_id, "siesa")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_accepted_client_id_keeps_its_keys_inside_its_prefix(client_id: str) -> None:
    try:
        checked = validate_client_id(client_id)
    except InvalidClientConfig:
        return
    prefix = run_prefix(checked, "20250115T100000Z-3f9a1c")
    assert prefix.split("/") == ["runs", checked, "20250115T100000Z-3f9a1c", ""]
    assert secrets.secret_name(checked, "kong").split("/") == ["siesa-integration", checked, "kong"]
    assert ".." not in checked and "/" not in checked


def test_a_secret_system_cannot_climb_to_another_client() -> None:
    for system in ("../cliente-b/siesa", "siesa/../../cliente-b/kong", "tms"):
        with pytest.raises(InvalidSecret):
            secrets.secret_name("cliente-a", system)


def test_hostile_ids_are_refused_by_the_operator_and_the_workflow(
    engine: ReliabilityEngine,
) -> None:
    bucket, s3 = engine.deployment.bucket, engine.deployment.client("s3")
    sm = engine.deployment.client("secretsmanager")

    def everything() -> tuple[set[str], set[str]]:
        keys = {
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for item in page.get("Contents", [])
        }
        return keys, {secret["Name"] for secret in sm.list_secrets()["SecretList"]}

    engine.alerts()
    with worlds(kong_client("sec-victim", seed=82), products=10) as running:
        victim = running["sec-victim"]
        engine.add(victim)
        before = everything()
        for hostile in ("../sec-victim", "sec-victim/..", "SEC-VICTIM"):
            config = {**victim.config_document(), "client_id": hostile}
            with pytest.raises(ops.InputError, match="client_id"):
                ops.add_client(
                    config,
                    victim.siesa_credentials(),
                    victim.product_credentials(),
                    deployment=engine.deployment,
                )
            with pytest.raises(ops.InputError, match="client_id"):
                ops.start_sync(hostile, deployment=engine.deployment)
            started = engine.deployment.client("stepfunctions").start_execution(
                stateMachineArn=engine.provisioned.state_machine_arn,
                name=f"hostile-{uuid.uuid4().hex[:8]}",
                input=json.dumps({"client_id": hostile, "sync_type": "initial"}),
            )
            outcome = ops.wait(
                started["executionArn"], deployment=engine.deployment, poll_seconds=0.1
            )
            assert (outcome.status, outcome.error) == ("failed", "InvalidEvent")
            assert "client_id" in (outcome.cause or "")
        assert everything() == before  # nothing written anywhere, no secret touched
        assert len(engine.alerts()) == 3


def test_a_crafted_event_cannot_read_another_clients_run_data(engine: ReliabilityEngine) -> None:
    with worlds(
        kong_client("sec-a", seed=83), kong_client("sec-b", seed=84), products=20
    ) as running:
        for world in running.values():
            engine.add(world)
        outcomes = sync_together(engine, ["sec-a", "sec-b"])
        theirs = outcomes["sec-b"]
        canonical = f"{run_prefix('sec-b', theirs.run_id or '')}canonical/page-00001.ndjson"
        held_by_a = running["sec-a"].held()
        run_id = outcomes["sec-a"].run_id or ""
        event = {
            "client_id": "sec-a",
            "product_type": "kong",
            "sync_type": "initial",
            "run_id": run_id,
            "bucket": engine.deployment.bucket,
            "extracted_pages": [],
            "count": 20,
            "extraction_timestamp": "2025-01-15T10:00:00Z",
            "watermark": "2025-01-15T05:00:00-05:00",
            "canonical_pages": [canonical],
            "rejected_count": 0,
            "rejected_key": f"{run_prefix('sec-a', run_id)}rejected.ndjson",
            "transformation_timestamp": "2025-01-15T10:01:00Z",
            "validation_errors": {"count": 0, "warnings": 0, "by_field": {}, "report_key": "x"},
        }
        for key in (canonical, f"runs/sec-a/{run_id}/../../sec-b/{theirs.run_id}/x.ndjson"):
            with pytest.raises(InvalidEvent, match="is not under runs/sec-a/"):
                loader_handler({**event, "canonical_pages": [key]}, None)
        assert running["sec-a"].held() == held_by_a


# --- URLs -------------------------------------------------------------------------------------

ACCEPTED_URLS = [
    "https://cliente-a.kong.com/api/v1",
    "http://127.0.0.1:8080/api/v1",
    "http://localhost:9000",
    "http://[::1]:9000/api",
]
REFUSED_URLS = [
    "http://cliente-a.kong.com/api/v1",
    "http://127.0.0.1.evil.example/api",
    "http://localhost.evil.example",
    "ftp://cliente-a.kong.com",
    "https://",
    "javascript:alert(1)",
    "//cliente-a.kong.com/api",
    "http://10.0.0.5/api",
]


@pytest.mark.parametrize("url", ACCEPTED_URLS)
def test_https_or_loopback_urls_are_accepted(url: str) -> None:
    config = ClientConfig.model_validate(
        {
            "client_id": "cliente-a",
            "client_name": "A",
            "product_type": "kong",
            "siesa_api_url": url,
            "product_api_url": url,
        }
    )
    assert config.product_api_url == url.rstrip("/")


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_other_urls_are_refused_everywhere_a_url_is_given(url: str) -> None:
    base = {"client_id": "cliente-a", "client_name": "A", "product_type": "kong"}
    for field in ("siesa_api_url", "product_api_url"):
        values = {
            **base,
            "siesa_api_url": "https://a.example",
            "product_api_url": "https://b.example",
        }
        with pytest.raises(ValidationError, match="https"):
            ClientConfig.model_validate({**values, field: url})
    with pytest.raises(ValidationError, match="https"):
        ProductCredentials(product_type="kong", api_url=url, api_key=SecretStr("k-123456"))
    with pytest.raises(ValidationError, match="https"):
        ProductCredentials(
            product_type="wms",
            api_url="https://wms.example",
            api_key=SecretStr("k-123456"),
            service_endpoints={"warehouse": url},
        )


def test_a_redirect_never_carries_the_key_to_another_host(kong_mapping: Any) -> None:
    captured: list[dict[str, str]] = []

    def capture(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        captured.append({key: value for key, value in environ.items() if key.startswith("HTTP_")})
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"results": []}']

    key = canary("kong-key")
    with SimServer(capture) as elsewhere:

        def redirect(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response(
                "307 Temporary Redirect",
                [("Location", f"{elsewhere.url}/api/v1/products/bulk"), ("Content-Length", "0")],
            )
            return [b""]

        with SimServer(redirect) as product:
            config = ClientConfig.model_validate(
                {
                    "client_id": "cliente-a",
                    "client_name": "A",
                    "product_type": "kong",
                    "siesa_api_url": "https://a.example",
                    "product_api_url": f"{product.url}/api/v1",
                }
            )
            credentials = ProductCredentials(
                product_type="kong", api_url=f"{product.url}/api/v1", api_key=SecretStr(key)
            )
            with (
                KongAdapter(credentials, config, kong_mapping) as adapter,
                pytest.raises(ProductResponseError, match="307") as refused,
            ):
                adapter.load_batch(
                    [
                        {
                            "product_id": "P1",
                            "name": "Camisa",
                            "quantity": 1,
                            "external_reference": "x",
                        }
                    ]
                )
    assert captured == []  # the other host never heard from us
    assert key not in str(refused.value)


@pytest.fixture
def kong_mapping() -> Any:
    from local.demo_expect import compile_mappings
    from local.provision import MAPPINGS_DIR

    return compile_mappings([MAPPINGS_DIR / "kong.map"])["kong"]


# --- the mapping bundle ---------------------------------------------------------------------


@contextmanager
def bundle_object_changed(engine: ReliabilityEngine, name: str, body: bytes) -> Iterator[None]:
    """One object of the bundle replaced for the block; a cold container reads it."""
    s3, bucket = engine.deployment.client("s3"), engine.deployment.bucket
    key = bundle_prefix(engine) + name
    saved = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    mapping_loader.clear_cache()
    try:
        yield
    finally:
        s3.put_object(Bucket=bucket, Key=key, Body=saved)
        mapping_loader.clear_cache()


@contextmanager
def signed_version_made_current(engine: ReliabilityEngine, manifest: bytes) -> Iterator[None]:
    """`manifest`, signed by the deploy, as a version of its own (the current one's modules
    copied) made current for the block: what a deploy of that manifest would leave."""
    s3, bucket = engine.deployment.client("s3"), engine.deployment.bucket
    source = bundle_prefix(engine)
    target = version_prefix(MAPPINGS_PREFIX, version_of(manifest))
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=source)["Contents"]:
        name = item["Key"][len(source) :]
        if name != SIGNED:
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            s3.put_object(Bucket=bucket, Key=target + name, Body=body)
    s3.put_object(Bucket=bucket, Key=target + SIGNED, Body=_signed(manifest))
    pointer_key = current_key(MAPPINGS_PREFIX)
    saved = s3.get_object(Bucket=bucket, Key=pointer_key)["Body"].read()
    pointer = {"sha256": version_of(manifest), "made_current_at": "2025-01-15T10:00:00Z"}
    s3.put_object(Bucket=bucket, Key=pointer_key, Body=json.dumps(pointer).encode())
    mapping_loader.clear_cache()
    try:
        yield
    finally:
        s3.put_object(Bucket=bucket, Key=pointer_key, Body=saved)
        mapping_loader.clear_cache()


def _bundle_text(engine: ReliabilityEngine, name: str) -> str:
    body = (
        engine.deployment.client("s3")
        .get_object(Bucket=engine.deployment.bucket, Key=bundle_prefix(engine) + name)["Body"]
        .read()
    )
    return str(body.decode("utf-8"))


def test_a_tampered_module_is_refused_and_never_runs(engine: ReliabilityEngine) -> None:
    os.environ.pop(TAMPER_FLAG, None)
    engine.alerts()
    with worlds(kong_client("sec-tamper", seed=85), products=30) as running:
        world = running["sec-tamper"]
        engine.add(world)
        sync_together(engine, [world.client_id])
        before, held = watermark(engine, world.client_id), world.held()
        world.catalog.modify(world.catalog.ids()[:5])
        tampered = f"import os\nos.environ[{TAMPER_FLAG!r}] = '1'\n" + _bundle_text(
            engine, "kong.py"
        )
        with bundle_object_changed(engine, "kong.py", tampered.encode()):
            outcome = sync_together(engine, [world.client_id], "incremental")[world.client_id]
        assert (outcome.status, outcome.error) == ("failed", "BundleIntegrityError")
        assert "refused, not imported" in (outcome.cause or "")
        (alert,) = alerts_for(engine.alerts(), world.client_id)
        assert "BundleIntegrityError" in alert["Message"]
        assert TAMPER_FLAG not in os.environ
        assert watermark(engine, world.client_id) == before and world.held() == held


def test_a_manifest_changed_to_name_another_module_is_refused(engine: ReliabilityEngine) -> None:
    """Even signed by the deploy, an entry naming another module is refused before that module runs."""
    engine.alerts()
    with worlds(kong_client("sec-manifest", seed=86), products=30) as running:
        world = running["sec-manifest"]
        engine.add(world)
        sync_together(engine, [world.client_id])
        before = watermark(engine, world.client_id)
        s3, bucket = engine.deployment.client("s3"), engine.deployment.bucket
        signed = s3.get_object(Bucket=bucket, Key=bundle_prefix(engine) + SIGNED)["Body"].read()
        manifest = json.loads(SignedManifest.from_json(signed, SIGNED).manifest_bytes(SIGNED))
        # the entry for "kong" now names another valid module of the same product, hash and all
        manifest["mappings"]["kong"] = dict(manifest["mappings"]["connekta-kong"])
        world.catalog.modify(world.catalog.ids()[:5])
        with signed_version_made_current(engine, json.dumps(manifest).encode()):
            outcome = sync_together(engine, [world.client_id], "incremental")[world.client_id]
        assert (outcome.status, outcome.error) == ("failed", "BundleIntegrityError")
        assert "the manifest was changed" in (outcome.cause or "")
        assert "it is mapping 'connekta-kong'" in (outcome.cause or "")
        assert watermark(engine, world.client_id) == before


SIGNED = SIGNED_MANIFEST_NAME


def _signed(manifest: bytes) -> bytes:
    """`manifest` signed with the deployment's key: what only the deploy role can make."""
    key = os.environ["MAPPINGS_SIGNING_KEY_ARN"]
    return ManifestSigner(ops.Deployment().client("kms"), key).sign(manifest)


def _forged(engine: ReliabilityEngine, marker: Path) -> dict[str, bytes]:
    """What someone who may write to mappings/ but not sign makes: kong.py replaced by a module
    that writes `marker` when imported, and the manifest's hash recomputed for it. The old
    signature is kept (they cannot make a new one with the deployment's key)."""
    s3, bucket = engine.deployment.client("s3"), engine.deployment.bucket
    module = s3.get_object(Bucket=bucket, Key=bundle_prefix(engine) + "kong.py")["Body"].read()
    planted = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n".encode() + module
    signed = s3.get_object(Bucket=bucket, Key=bundle_prefix(engine) + SIGNED)["Body"].read()
    envelope = SignedManifest.from_json(signed, SIGNED)
    manifest = json.loads(envelope.manifest_bytes(SIGNED))
    manifest["mappings"]["kong"]["module_sha256"] = hashlib.sha256(planted).hexdigest()
    forged = SignedManifest.of(
        json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n",
        envelope.signature_bytes(SIGNED),
        envelope.key_id,
    )
    return {"kong.py": planted, SIGNED: forged.to_json()}


@contextmanager
def bundle_objects_changed(engine: ReliabilityEngine, bodies: dict[str, bytes]) -> Iterator[None]:
    """Several objects of the bundle replaced for the block (modules first, as a writer would)."""
    with ExitStack() as stack:
        for name in sorted(bodies, key=lambda name: name == SIGNED):
            stack.enter_context(bundle_object_changed(engine, name, bodies[name]))
        yield


def test_a_replaced_module_with_a_recomputed_manifest_stops_the_sync_unrun(
    engine: ReliabilityEngine, tmp_path: Path
) -> None:
    """Write access to the bucket without the signing key: named error, the module never runs."""
    marker = tmp_path / "planted-module-ran"
    engine.alerts()
    with worlds(kong_client("sec-forged", seed=87), products=30) as running:
        world = running["sec-forged"]
        engine.add(world)
        sync_together(engine, [world.client_id])
        before, held = watermark(engine, world.client_id), world.held()
        world.catalog.modify(world.catalog.ids()[:5])
        with bundle_objects_changed(engine, _forged(engine, marker)):
            outcome = sync_together(engine, [world.client_id], "incremental")[world.client_id]
        assert (outcome.status, outcome.error) == ("failed", "BundleSignatureError")
        assert "signature does not verify" in (outcome.cause or "")
        (alert,) = alerts_for(engine.alerts(), world.client_id)
        assert "BundleSignatureError" in alert["Message"]
        assert not marker.exists()
        assert watermark(engine, world.client_id) == before and world.held() == held
        newest = runs_of(engine, world.client_id)[0]
        assert newest["status"] == "failed" and not newest.get("last_error")  # stopped, not retried


def test_replay_refuses_a_forged_bundle_before_any_module_runs(
    engine: ReliabilityEngine, tmp_path: Path
) -> None:
    """`siesa replay` verifies the signature too: operator credentials never run a planted module."""
    marker = tmp_path / "planted-module-ran"
    with worlds(kong_client("sec-replay", seed=88), products=30) as running:
        world = running["sec-replay"]
        engine.add(world)
        outcome = sync_together(engine, [world.client_id])[world.client_id]
        with bundle_objects_changed(engine, _forged(engine, marker)):
            result = CliRunner().invoke(
                app, ["replay", "--client", world.client_id, "--run", str(outcome.run_id)]
            )
        assert result.exit_code == 1, result.output
        assert "signature does not verify" in result.output
        assert not marker.exists()
