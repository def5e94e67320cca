"""`deploy()` onto the embedded AWS: the resources as intended, no-op redeploys, named failures."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.signature import SignedManifest
from local.embedded_aws import LocalAws
from ops.deploy.build import Build
from ops.deploy.deploy import TEMPLATE_BODY_LIMIT, DeployReport
from ops.deploy.infra import DEFINITION_PATH, TEMPLATE_PATH
from ops.deploy.stack import StackEvent
from runtime.bundle_trust import ManifestVerifier
from runtime.mapping_loader import BundleLoader

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from deploy_support import ARTIFACTS, CONFIG, code_sha256, deploy_onto

FUNCTIONS = {
    "siesa-integration-extractor": ("runtime.handlers.extractor.lambda_handler", 512, 300),
    "siesa-integration-transformer": ("runtime.handlers.transformer.lambda_handler", 256, 180),
    "siesa-integration-loader": ("runtime.handlers.loader.lambda_handler", 512, 600),
}


@pytest.fixture(scope="module")
def first(built: Build) -> Iterator[tuple[LocalAws, DeployReport, list[StackEvent]]]:
    """One deploy of this checkout's build onto a fresh embedded AWS."""
    events: list[StackEvent] = []
    with LocalAws() as aws:
        yield aws, deploy_onto(aws, built, events), events


Deployed = tuple[LocalAws, DeployReport, list[StackEvent]]


def test_the_first_deploy_creates_the_stack_and_reports_its_outputs(first: Deployed) -> None:
    _, report, events = first
    assert report.stack.outcome == "created"
    assert report.stack.status == "CREATE_COMPLETE"
    assert {change.action for change in report.stack.changes} == {"Add"}
    assert {"ClientsTable", "LoaderFunction", "Workflow"} <= {
        c.logical_id for c in report.stack.changes
    }
    assert report.stack.outputs["ConfigBucketName"] == CONFIG
    assert report.stack.outputs["StateMachineArn"].endswith(
        ":stateMachine:siesa-integration-workflow"
    )
    assert [event.status for event in events][-1] == "CREATE_COMPLETE"


def test_the_functions_run_the_uploaded_package(first: Deployed, built: Build) -> None:
    aws, report, _ = first
    lambda_client = aws.client("lambda")
    for name, (handler, memory, timeout) in FUNCTIONS.items():
        config = lambda_client.get_function(FunctionName=name)["Configuration"]
        assert config["CodeSha256"] == code_sha256(built.package.path), name
        assert (config["Handler"], config["MemorySize"], config["Timeout"]) == (
            handler,
            memory,
            timeout,
        )
        assert config["Runtime"] == "python3.11" and config["Architectures"] == ["x86_64"]
        role_output = name.removeprefix("siesa-integration-").capitalize() + "RoleArn"
        assert config["Role"] == report.stack.outputs[role_output]
        variables = config["Environment"]["Variables"]
        assert variables["CONFIG_BUCKET"] == CONFIG and variables["ENVIRONMENT"] == "test"
    package = next(item for item in report.artefact_uploads if item.key.endswith(".zip"))
    assert package.sha256 == built.package.sha256
    assert (
        report.parameters["LambdaCodeKey"]
        == package.key
        == f"lambda/siesa-runtime-{built.package.sha256[:16]}.zip"
    )


def test_the_artefacts_bucket_is_private_and_encrypted(first: Deployed) -> None:
    aws, report, _ = first
    s3 = aws.client("s3")
    assert report.artifacts_bucket == ARTIFACTS
    block = s3.get_public_access_block(Bucket=ARTIFACTS)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = s3.get_bucket_encryption(Bucket=ARTIFACTS)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=ARTIFACTS)["Contents"]}
    assert keys == {upload.key for upload in report.artefact_uploads}
    assert {
        report.parameters["LambdaCodeKey"],
        report.parameters["StateMachineDefinitionKey"],
    } <= keys
    # the template goes there too once it is too big to send inline
    too_big = len(TEMPLATE_PATH.read_bytes()) > TEMPLATE_BODY_LIMIT
    assert any(key.startswith("templates/") for key in keys) == too_big


def test_tables_bucket_and_workflow_exist_as_the_template_says(first: Deployed) -> None:
    aws, report, _ = first
    clients = aws.client("dynamodb").describe_table(TableName="siesa-integration-clients")["Table"]
    assert {index["IndexName"] for index in clients["GlobalSecondaryIndexes"]} == {
        "enabled-index",
        "product-type-index",
    }
    runs = aws.client("dynamodb").describe_table(TableName="siesa-integration-runs")["Table"]
    assert [key["AttributeName"] for key in runs["KeySchema"]] == ["client_id", "run_id"]
    rules = aws.client("s3").get_bucket_encryption(Bucket=CONFIG)[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": report.stack.outputs["ConfigBucketKeyArn"],
    }
    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert {group["retentionInDays"] for group in groups} == {7}
    assert len(groups) == 3
    # moto's CloudFormation keeps state machines where its Step Functions API does not look
    # (see local/provision.py); the definition the template points at is checked instead
    definition = (
        aws.client("s3")
        .get_object(Bucket=ARTIFACTS, Key=report.parameters["StateMachineDefinitionKey"])["Body"]
        .read()
    )
    assert definition == DEFINITION_PATH.read_bytes()


def test_the_mapping_bundle_is_in_the_config_bucket_and_loads(
    first: Deployed, built: Build
) -> None:
    aws, report, _ = first
    s3 = aws.client("s3")
    manifest = (built.mapping_dir / "manifest.json").read_bytes()
    version = hashlib.sha256(manifest).hexdigest()
    assert report.bundle_version == version
    keys = [upload.key for upload in report.bundle_uploads]
    # the version's files, its signed manifest last of them, then the pointer naming it
    assert keys[-2:] == [
        f"mappings/versions/{version}/signed-manifest.json",
        "mappings/current.json",
    ]
    signed = s3.get_object(Bucket=CONFIG, Key=keys[-2])["Body"].read()
    envelope = SignedManifest.from_json(signed, "signed-manifest.json")
    assert envelope.manifest_bytes("") == manifest
    current = json.loads(s3.get_object(Bucket=CONFIG, Key="mappings/current.json")["Body"].read())
    assert current["sha256"] == version
    assert envelope.key_id == report.signing_key_arn
    verifier = ManifestVerifier(report.signing_key_arn, kms=aws.client("kms"))
    loader = BundleLoader(CONFIG, "mappings/", s3=s3, verifier=verifier)
    for product_type in ("kong", "wms"):
        assert callable(loader.load(product_type, product_type=product_type).to_canonical)
