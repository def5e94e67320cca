"""provision(): the stack, the executing workflow, the mapping bundle, the exported names."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from contract.signature import SignedManifest
from local.embedded_aws import LocalAws
from local.provision import (
    ARTIFACTS_BUCKET,
    MAPPINGS_DIR,
    ProvisionError,
    ProvisionResult,
    provision,
)
from runtime.budgets import BUDGETS_TABLE_SCHEMA
from runtime.config_store import CLIENTS_TABLE_SCHEMA
from runtime.mapping_loader import BundleLoader
from runtime.sync_state import RUNS_TABLE_SCHEMA


@pytest.fixture(scope="module")
def provisioned() -> Iterator[tuple[LocalAws, ProvisionResult]]:
    """The repository's template, definition and mappings on one embedded AWS."""
    with LocalAws() as aws:
        yield aws, provision(aws)


def _version(result: ProvisionResult) -> str:
    """The version provisioning uploaded: the SHA-256 of the manifest's bytes as compiled."""
    (key,) = [key for key in result.mapping_keys if key.endswith("/signed-manifest.json")]
    return key.split("/")[2]


def test_outputs_are_exported_to_the_process(provisioned: tuple[LocalAws, ProvisionResult]) -> None:
    _, result = provisioned
    assert os.environ["STATE_MACHINE_ARN"] == result.state_machine_arn
    assert os.environ["CLIENTS_TABLE"] == "siesa-integration-clients"
    assert os.environ["RUNS_TABLE"] == "siesa-integration-runs"
    assert os.environ["BUDGETS_TABLE"] == "siesa-integration-budgets"
    assert os.environ["CONFIG_BUCKET"] == "siesa-integration-config"
    assert os.environ["ALERTS_TOPIC_ARN"] == result.outputs["AlertsTopicArn"]


def test_the_repository_mappings_are_compiled_and_loadable_by_the_runtime(
    provisioned: tuple[LocalAws, ProvisionResult],
) -> None:
    aws, result = provisioned
    assert result.mapping_manifest is not None
    version = _version(result)
    # the manifest goes last of the version's files, then the pointer names the version
    assert result.mapping_keys[-2:] == (
        f"mappings/versions/{version}/signed-manifest.json",
        "mappings/current.json",
    )
    s3 = aws.client("s3")
    signed = s3.get_object(Bucket="siesa-integration-config", Key=result.mapping_keys[-2])
    envelope = SignedManifest.from_json(signed["Body"].read(), "signed-manifest.json")
    assert json.loads(envelope.manifest_bytes("")) == result.mapping_manifest
    assert envelope.key_id == result.outputs["MappingsSigningKeyArn"]
    assert os.environ["MAPPINGS_SIGNING_KEY_ARN"] == envelope.key_id
    loader = BundleLoader("siesa-integration-config", "mappings/", s3=s3)
    for product_type in ("kong", "wms"):
        module = loader.load(product_type, product_type=product_type)
        assert callable(module.to_canonical)


def test_uploaded_modules_hash_to_the_manifest(
    provisioned: tuple[LocalAws, ProvisionResult],
) -> None:
    aws, result = provisioned
    assert result.mapping_manifest is not None
    s3 = aws.client("s3")
    for name, entry in result.mapping_manifest["mappings"].items():
        key = f"mappings/versions/{_version(result)}/{entry['module']}"
        body = s3.get_object(Bucket="siesa-integration-config", Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == entry["module_sha256"], name


def test_the_artifacts_the_template_points_at_are_uploaded(
    provisioned: tuple[LocalAws, ProvisionResult],
) -> None:
    aws, _ = provisioned
    keys = sorted(
        item["Key"]
        for item in aws.client("s3").list_objects_v2(Bucket=ARTIFACTS_BUCKET)["Contents"]
    )
    assert [key.split("/")[0] for key in keys] == ["lambda", "statemachine"]
    definition = aws.client("s3").get_object(Bucket=ARTIFACTS_BUCKET, Key=keys[1])["Body"].read()
    assert definition == (Path(__file__).parents[2] / "infra/statemachine.asl.json").read_bytes()


def test_tables_match_the_runtime_schemas(provisioned: tuple[LocalAws, ProvisionResult]) -> None:
    """The template and runtime.config_store / sync_state / budgets agree on keys and indexes."""
    aws, _ = provisioned
    dynamodb = aws.client("dynamodb")
    for table_name, schema in (
        ("siesa-integration-clients", CLIENTS_TABLE_SCHEMA),
        ("siesa-integration-runs", RUNS_TABLE_SCHEMA),
        ("siesa-integration-budgets", BUDGETS_TABLE_SCHEMA),
    ):
        table = dynamodb.describe_table(TableName=table_name)["Table"]
        assert table["KeySchema"] == schema["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(
            schema["AttributeDefinitions"], key=str
        )
        created = {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in table.get("GlobalSecondaryIndexes", [])
        }
        expected = {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in schema.get("GlobalSecondaryIndexes", [])
        }
        assert created == expected


def test_provisioning_again_reuses_the_stack(provisioned: tuple[LocalAws, ProvisionResult]) -> None:
    aws, result = provisioned
    again = provision(aws, mappings_dir=None)
    assert again.outputs == result.outputs
    assert again.state_machine_arn == result.state_machine_arn
    stacks = aws.client("cloudformation").describe_stacks()["Stacks"]
    assert len(stacks) == 1


def test_a_mapping_that_does_not_compile_is_a_provision_error(
    provisioned: tuple[LocalAws, ProvisionResult], tmp_path: Path
) -> None:
    aws, _ = provisioned
    (tmp_path / "broken.map").write_text("mapping broken {\n", encoding="utf-8")
    with pytest.raises(ProvisionError, match="compiling the mappings"):
        provision(aws, mappings_dir=tmp_path)


def test_a_compiler_that_writes_no_manifest_is_a_provision_error(
    provisioned: tuple[LocalAws, ProvisionResult], tmp_path: Path
) -> None:
    aws, _ = provisioned
    (tmp_path / "kong.map").write_text("# placeholder\n", encoding="utf-8")

    def writes_nothing(paths: Sequence[Path], out_dir: Path) -> None:
        out_dir.mkdir(parents=True)

    with pytest.raises(ProvisionError, match=r"wrote no manifest\.json"):
        provision(aws, mappings_dir=tmp_path, compile_bundle=writes_nothing)


def test_no_map_files_means_no_bundle(
    provisioned: tuple[LocalAws, ProvisionResult], tmp_path: Path
) -> None:
    aws, _ = provisioned
    result = provision(aws, mappings_dir=tmp_path)
    assert result.mapping_manifest is None
    assert result.mapping_keys == ()


def test_default_mappings_dir_is_the_repository_one() -> None:
    assert Path(__file__).parents[2] / "mappings" == MAPPINGS_DIR
