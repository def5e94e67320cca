"""The embedded AWS answers a wrong ExpectedBucketOwner with 403, as S3 does (local/bucket_owner.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from local.embedded_aws import LOCAL_ACCOUNT_ID, LocalAws

STRANGER = "210987654321"


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws() as running:
        running.client_in_account("s3", STRANGER).create_bucket(Bucket="theirs")
        running.client("s3").create_bucket(Bucket="ours")
        yield running


def _code(failure: pytest.ExceptionInfo[ClientError]) -> str:
    return str(failure.value.response["Error"]["Code"])


def test_a_bucket_of_another_account_is_refused_when_we_name_ourselves_its_owner(
    aws: LocalAws,
) -> None:
    s3 = aws.client("s3")
    with pytest.raises(ClientError) as head:
        s3.head_bucket(Bucket="theirs", ExpectedBucketOwner=LOCAL_ACCOUNT_ID)
    assert _code(head) == "403"
    with pytest.raises(ClientError) as put:
        s3.put_object(Bucket="theirs", Key="k", Body=b"x", ExpectedBucketOwner=LOCAL_ACCOUNT_ID)
    assert _code(put) == "AccessDenied"
    assert "Contents" not in s3.list_objects_v2(Bucket="theirs")


def test_the_owner_check_passes_for_the_real_owner_and_without_the_header(aws: LocalAws) -> None:
    s3 = aws.client("s3")
    s3.head_bucket(Bucket="ours", ExpectedBucketOwner=LOCAL_ACCOUNT_ID)
    s3.head_bucket(Bucket="theirs", ExpectedBucketOwner=STRANGER)
    # moto itself lets any account reach any bucket: only the header makes S3 check
    s3.head_bucket(Bucket="theirs")
    with pytest.raises(ClientError) as wrong:
        s3.head_bucket(Bucket="ours", ExpectedBucketOwner=STRANGER)
    assert _code(wrong) == "403"
