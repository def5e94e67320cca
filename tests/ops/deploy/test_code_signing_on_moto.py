"""What `siesa deploy` does for Lambda code signing: it never ships the unsigned package to functions
that would refuse it, and deploys the signed package the operator names."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from local.embedded_aws import LocalAws
from ops.deploy.build import Build
from ops.deploy.errors import UnsignedPackage
from ops.deploy.reprozip import Entry, write_zip
from ops.errors import DeploymentError

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from deploy_support import ARTIFACTS, SIGNING_PROFILE, code_sha256, deploy_onto


def test_code_signing_on_without_a_signed_package_stops_before_the_stack(
    local_aws: LocalAws, built: Build
) -> None:
    with pytest.raises(UnsignedPackage) as failure:
        deploy_onto(local_aws, built, parameters={"CodeSigningProfileVersionArn": SIGNING_PROFILE})
    unsigned = f"lambda/siesa-runtime-{built.package.sha256[:16]}.zip"
    message = str(failure.value)
    assert f"s3://{ARTIFACTS}/{unsigned}" in message  # uploaded, so it can be signed
    assert "--parameter LambdaCodeKey=" in message and "not touched" in message
    assert local_aws.client("s3").head_object(Bucket=ARTIFACTS, Key=unsigned)
    assert local_aws.client("cloudformation").list_stacks()["StackSummaries"] == []


def test_a_named_package_key_must_exist_in_the_artefacts_bucket(
    local_aws: LocalAws, built: Build
) -> None:
    with pytest.raises(DeploymentError, match=r"signed/missing\.zip: no such object"):
        deploy_onto(local_aws, built, parameters={"LambdaCodeKey": "signed/missing.zip"})
    assert local_aws.client("cloudformation").list_stacks()["StackSummaries"] == []


def test_the_functions_run_the_package_key_the_operator_names(
    local_aws: LocalAws, built: Build, tmp_path: Path
) -> None:
    # what AWS Signer writes is another object in the bucket; any named object stands in for it
    # here (moto's CloudFormation cannot create the code-signing configuration itself)
    deploy_onto(local_aws, built)
    signed = write_zip([Entry("runtime/__init__.py", b'"""signed"""\n')], tmp_path / "s.zip")
    local_aws.client("s3").put_object(
        Bucket=ARTIFACTS, Key="signed/job-1.zip", Body=signed.path.read_bytes()
    )
    report = deploy_onto(local_aws, built, parameters={"LambdaCodeKey": "signed/job-1.zip"})
    assert report.parameters["LambdaCodeKey"] == "signed/job-1.zip"
    config = local_aws.client("lambda").get_function(FunctionName="siesa-integration-loader")[
        "Configuration"
    ]
    assert config["CodeSha256"] == code_sha256(signed.path)
