"""Mapping bundle versions end to end (issue 14, part 2): promote, roll back, pin, refuse a forgery.

On the embedded AWS with the real handlers and simulators: provisioning
uploads version A (the repository's mappings); a deploy-style upload of a
kong.map whose `name` rule upper-cases makes version B current. A sync uses
B, `siesa map promote A` goes back and the next sync uses A; the products
Kong holds show whose rule ran, and run history and `siesa status` say which
version. A pin moves one client while another follows the current version,
and a version whose module was replaced (manifest hash recomputed, not
re-signed) is refused when pinned, by the command and by a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import ops
from cli.app import app
from compiler.bundle import compile_paths
from contract.signature import SignedManifest
from local.embedded_aws import LOCAL_ACCOUNT_ID
from local.provision import MAPPINGS_DIR, MAPPINGS_PREFIX
from ops import mapping_versions
from ops.deploy.artefacts import OwnedBucket, upload_mapping_bundle
from ops.deploy.signing import ManifestSigner

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from e2e_support import E2eEngine, kong_client, worlds

NAME_RULE = "field name string required <- f_nombre -> name check length 1..200"
UPPER_RULE = "field name string required <- f_nombre -> name | upper check length 1..200"
PRODUCTS = 20


def cli(engine: E2eEngine, *arguments: str) -> Any:
    """`siesa ...` against the engine, as an operator types it."""
    return CliRunner().invoke(app, [*arguments, "--endpoint-url", engine.aws.url])


def upload_version_b(engine: E2eEngine, scratch: Path) -> str:
    """kong.map with its name rule upper-casing, uploaded as a deploy would; its version."""
    sources = scratch / "mappings"
    shutil.copytree(MAPPINGS_DIR, sources)
    kong = sources / "kong.map"
    text = kong.read_text(encoding="utf-8")
    assert NAME_RULE in text
    kong.write_text(text.replace(NAME_RULE, UPPER_RULE), encoding="utf-8")
    compile_paths([sources], scratch / "bundle")
    deployment = engine.deployment
    signer = ManifestSigner(deployment.client("kms"), os.environ["MAPPINGS_SIGNING_KEY_ARN"])
    bucket = OwnedBucket(deployment.client("s3"), deployment.bucket, LOCAL_ACCOUNT_ID)
    return upload_mapping_bundle(bucket, scratch / "bundle", MAPPINGS_PREFIX, signer).version


def names(world: Any) -> dict[str, str]:
    return {key: str(product["name"]) for key, product in world.held().items()}


def synced_with(engine: E2eEngine, client_id: str) -> str:
    """Run an initial sync (every record sent again); the bundle version its run recorded."""
    outcome = engine.sync(client_id, "initial")
    assert outcome.status in ("success", "partial"), outcome.error
    item = engine.deployment.run_history().get(client_id, outcome.run_id or "")
    assert item is not None
    assert (outcome.summary or {}).get("bundle_sha256") == item["bundle_sha256"]
    return str(item["bundle_sha256"])


def status_shows(engine: E2eEngine, client_id: str) -> tuple[str, str]:
    """The version `siesa status --json` gives for the client's last run, and the table's text."""
    found = cli(engine, "status", "--client", client_id, "--json")
    assert found.exit_code == 0, found.output
    (client,) = json.loads(found.output)["clients"]
    table = cli(engine, "status", "--client", client_id)
    assert table.exit_code == 0, table.output
    return client["last_sync"]["bundle_sha256"], table.output


def test_promote_goes_back_and_the_next_run_uses_the_older_version(
    engine: E2eEngine, tmp_path: Path
) -> None:
    version_a = mapping_versions.history(deployment=engine.deployment).current
    assert version_a is not None
    version_b = upload_version_b(engine, tmp_path)
    assert version_b != version_a
    with worlds(kong_client("ver-roll", seed=41), products=PRODUCTS) as running:
        world = running["ver-roll"]
        engine.add(world)

        assert synced_with(engine, "ver-roll") == version_b
        held = names(world)
        assert held and all(name == name.upper() for name in held.values())
        shown, table = status_shows(engine, "ver-roll")
        assert shown == version_b and version_b[:12] in table

        promoted = cli(engine, "map", "promote", version_a[:10])
        assert promoted.exit_code == 0, promoted.output
        assert version_a[:12] in promoted.output

        assert synced_with(engine, "ver-roll") == version_a
        held = names(world)
        assert any(
            name != name.upper() for name in held.values()
        )  # A's rule: names as the ERP has them
        erp = {str(r["f_codigo"]).strip(): str(r["f_nombre"]).strip() for r in world.erp_records()}
        assert all(held[key] == erp[key] for key in held if key in erp)
        shown, table = status_shows(engine, "ver-roll")
        assert shown == version_a and version_a[:12] in table

    listed = cli(engine, "map", "history", "--json")
    assert listed.exit_code == 0, listed.output
    history = json.loads(listed.output)
    assert history["current"] == version_a
    by_version = {entry["sha256"]: entry for entry in history["versions"]}
    assert by_version[version_a]["current"] and not by_version[version_b]["current"]
    assert "ver-roll" in by_version[version_a]["used_by"]


def test_a_pin_moves_one_client_while_another_follows_current(
    engine: E2eEngine, tmp_path: Path
) -> None:
    version_b = upload_version_b(engine, tmp_path)  # current now (uploaded again: unchanged files)
    older = [
        v.sha256
        for v in mapping_versions.history(deployment=engine.deployment).versions
        if v.sha256 != version_b
    ]
    version_a = older[0]
    with worlds(
        kong_client("ver-pinned", seed=42), kong_client("ver-free", seed=43), products=PRODUCTS
    ) as running:
        for world in running.values():
            engine.add(world)
        pinned = cli(engine, "map", "pin", "ver-pinned", version_a)
        assert pinned.exit_code == 0, pinned.output
        assert synced_with(engine, "ver-pinned") == version_a
        assert synced_with(engine, "ver-free") == version_b
        assert any(n != n.upper() for n in names(running["ver-pinned"]).values())
        assert all(n == n.upper() for n in names(running["ver-free"]).values())

        history = mapping_versions.history(deployment=engine.deployment)
        by_version = {entry.sha256: entry for entry in history.versions}
        assert by_version[version_a].pinned_by == ("ver-pinned",)
        assert "ver-free" in by_version[version_b].used_by
        assert "ver-pinned" not in by_version[version_b].used_by

        unpinned = cli(engine, "map", "unpin", "ver-pinned")
        assert unpinned.exit_code == 0, unpinned.output
        assert synced_with(engine, "ver-pinned") == version_b
        assert all(n == n.upper() for n in names(running["ver-pinned"]).values())


def forge_version(engine: E2eEngine, version: str) -> str:
    """A copy of `version` with kong.py replaced and the manifest's hash recomputed, not re-signed."""
    s3, bucket = engine.deployment.client("s3"), engine.deployment.bucket
    under = f"{MAPPINGS_PREFIX}versions/{version}/"
    envelope = SignedManifest.from_json(
        s3.get_object(Bucket=bucket, Key=under + "signed-manifest.json")["Body"].read(), "test"
    )
    manifest = json.loads(envelope.manifest_bytes(""))
    module = s3.get_object(Bucket=bucket, Key=under + "kong.py")["Body"].read()
    planted = b"import os\nos.environ['SIESA_FORGED_VERSION_RAN'] = '1'\n" + module
    manifest["mappings"]["kong"]["module_sha256"] = hashlib.sha256(planted).hexdigest()
    forged_manifest = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    forged = hashlib.sha256(forged_manifest).hexdigest()
    forged_under = f"{MAPPINGS_PREFIX}versions/{forged}/"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=under)["Contents"]
    for item in listed:
        name = item["Key"][len(under) :]
        if name not in ("kong.py", "signed-manifest.json"):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            s3.put_object(Bucket=bucket, Key=forged_under + name, Body=body)
    s3.put_object(Bucket=bucket, Key=forged_under + "kong.py", Body=planted)
    old_signature = envelope.signature_bytes("")
    unsigned = SignedManifest.of(forged_manifest, old_signature, envelope.key_id)
    s3.put_object(Bucket=bucket, Key=forged_under + "signed-manifest.json", Body=unsigned.to_json())
    return forged


def test_a_forged_version_is_refused_when_pinned(engine: E2eEngine) -> None:
    current = mapping_versions.history(deployment=engine.deployment).current
    assert current is not None
    forged = forge_version(engine, current)
    with worlds(kong_client("ver-forged", seed=44), products=PRODUCTS) as running:
        world = running["ver-forged"]
        engine.add(world)
        refused = cli(engine, "map", "pin", "ver-forged", forged)
        assert refused.exit_code == 1
        assert "signature does not verify" in refused.output
        assert engine.deployment.config_store().get("ver-forged").bundle_pin is None
        refused = cli(engine, "map", "promote", forged)
        assert refused.exit_code == 1 and "signature does not verify" in refused.output

        # a pin written past the command (an operator's raw item write) is refused by the run
        engine.deployment.config_store().set_pin("ver-forged", forged)
        outcome = engine.sync("ver-forged", "initial")
        assert outcome.status == "failed"
        assert "BundleSignatureError" in (outcome.error or "") + (outcome.cause or "")
        assert world.held() == {}
        assert "SIESA_FORGED_VERSION_RAN" not in os.environ
    assert mapping_versions.history(deployment=engine.deployment).current == current


def test_an_unknown_version_is_refused_with_the_closest_and_how_to_list(
    engine: E2eEngine,
) -> None:
    current = mapping_versions.history(deployment=engine.deployment).current
    assert current is not None
    wrong = current[:8] + ("0" if current[8] != "0" else "1") * 56
    refused = cli(engine, "map", "promote", wrong)
    assert refused.exit_code == 1
    assert "no bundle version" in refused.output and "siesa map history" in refused.output
    assert current[:12] in refused.output  # the closest one shares its first 8 digits
    with pytest.raises(ops.OpsError, match="no client"):
        mapping_versions.pin("ver-nobody", current, deployment=engine.deployment)
