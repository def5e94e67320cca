"""Deploy artefacts on the embedded AWS: buckets our account must own, content judged by S3's checksum."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest

from local.embedded_aws import LOCAL_ACCOUNT_ID, LocalAws
from ops.deploy.artefacts import OwnedBucket, put_if_changed, s3_checksum
from ops.deploy.build import Build
from ops.deploy.deploy import DeployRequest, deploy
from ops.deploy.errors import ForeignBucket
from ops.deployment import Deployment

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from deploy_support import ARTIFACTS, CONFIG, STACK, STRANGER, deploy_onto


def test_an_artefacts_bucket_another_account_created_first_stops_the_deploy(
    local_aws: LocalAws, built: Build
) -> None:
    # the default name is predictable: siesa-integration-artifacts-<account>-<region>
    theirs = local_aws.client_in_account("s3", STRANGER)
    theirs.create_bucket(Bucket=ARTIFACTS)
    with pytest.raises(ForeignBucket) as failure:
        deploy_onto(local_aws, built)
    message = str(failure.value)
    assert ARTIFACTS in message and LOCAL_ACCOUNT_ID in message
    assert "another account owns it" in message
    assert "Contents" not in theirs.list_objects_v2(Bucket=ARTIFACTS)  # nothing uploaded
    stacks = local_aws.client("cloudformation").list_stacks()["StackSummaries"]
    assert stacks == []  # stopped before any stack was touched


def test_every_call_on_the_deploys_buckets_names_the_callers_account(
    local_aws: LocalAws, built: Build
) -> None:
    deployment = Deployment(local_aws.url, region=local_aws.region, stack_name=STACK)
    calls: list[tuple[str, str, str | None]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if "Bucket" in params:
            calls.append((model.name, params["Bucket"], params.get("ExpectedBucketOwner")))

    deployment.client("s3").meta.events.register("provide-client-params.s3", record)
    deploy(
        built,
        DeployRequest(stack_name=STACK, environment="test"),
        deployment=deployment,
        poll_seconds=0.01,
    )
    operations = {name for name, _, _ in calls}
    assert {"HeadBucket", "PutObject", "HeadObject", "GetObject"} <= operations
    assert {bucket for _, bucket, _ in calls} == {ARTIFACTS, CONFIG}
    unchecked = [
        call for call in calls if call[0] != "CreateBucket" and call[2] != LOCAL_ACCOUNT_ID
    ]
    assert unchecked == []  # CreateBucket is the one S3 call without an owner to name


@pytest.fixture()
def bucket(local_aws: LocalAws) -> OwnedBucket:
    local_aws.client("s3").create_bucket(Bucket="siesa-integration-artefacts-probe")
    return OwnedBucket(
        local_aws.client("s3"), "siesa-integration-artefacts-probe", LOCAL_ACCOUNT_ID
    )


def test_metadata_claiming_our_hash_does_not_make_an_object_ours(bucket: OwnedBucket) -> None:
    ours = b"the package we built"
    planted = b"a package someone else wrote"
    bucket.s3.put_object(
        Bucket=bucket.name,
        Key="lambda/pkg.zip",
        Body=planted,
        Metadata={"sha256": hashlib.sha256(ours).hexdigest()},  # what the old check trusted
    )
    assert put_if_changed(bucket, "lambda/pkg.zip", ours).written
    stored = bucket.s3.get_object(Bucket=bucket.name, Key="lambda/pkg.zip")["Body"].read()
    assert stored == ours


def test_an_object_is_left_alone_only_when_s3s_own_checksum_matches(bucket: OwnedBucket) -> None:
    data = b"statemachine definition"
    bucket.s3.put_object(Bucket=bucket.name, Key="same-bytes-no-sha256", Body=data)
    assert bucket.checksum("same-bytes-no-sha256") == ""  # written with S3's default CRC32
    assert put_if_changed(bucket, "same-bytes-no-sha256", data).written
    assert bucket.checksum("same-bytes-no-sha256") == s3_checksum(data)
    again = put_if_changed(bucket, "same-bytes-no-sha256", data)
    assert not again.written and again.sha256 == hashlib.sha256(data).hexdigest()
    assert bucket.checksum("never-written") is None
