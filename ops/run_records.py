"""The ERP records a client's last finished run extracted, read back from its claim-check pages.

So a mapping can be tried on a client's real records on the engineer's own
machine (`siesa map serve --client ID`). It reads only: the client's run
history (DynamoDB `Query` on the runs table, newest first) and the run's
`runs/{client_id}/{run_id}/extracted/` pages (S3 `ListBucket` on that prefix,
`GetObject` on its pages). On the local engine that is `siesa local up`'s
embedded AWS; on AWS it needs an operator's credentials with those three
permissions. Nothing is written and no mapping bundle is read.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from ops.deployment import Deployment, resolve, translate_aws_errors
from ops.errors import InputError
from ops.run_evidence import newest_finished_run, page_keys
from runtime.config import validate_client_id
from runtime.errors import InvalidClientConfig
from runtime.runstore import run_prefix


@dataclass(frozen=True)
class RunRecords:
    """The first records of a run's extracted pages, each named `page-00001.ndjson:LINE`."""

    client_id: str
    run_id: str
    records: list[tuple[str, Any]] = field(default_factory=list)
    more: bool = False
    """The run extracted more records than were read."""


def _lines(deployment: Deployment, keys: list[str]) -> Generator[tuple[str, Any], None, None]:
    """(`page-00001.ndjson:LINE`, record) for each line of the pages, page by page."""
    store = deployment.run_store()
    for key in keys:
        for number, record in enumerate(store.iter_lines(key), start=1):
            yield f"{key.rsplit('/', 1)[-1]}:{number}", record


@translate_aws_errors
def last_run_records(
    client_id: str, *, limit: int, deployment: Deployment | None = None
) -> RunRecords:
    """The first `limit` records the client's newest finished run extracted, in page order."""
    target = resolve(deployment)
    try:
        client_id = validate_client_id(client_id)
    except InvalidClientConfig as exc:
        raise InputError(str(exc)) from None
    run_id = str(newest_finished_run(target, client_id)["run_id"])
    keys = page_keys(target.run_store(), run_prefix(client_id, run_id) + "extracted/")
    found = RunRecords(client_id, run_id)
    with closing(_lines(target, keys)) as lines:
        for line in lines:
            if len(found.records) == limit:
                return RunRecords(client_id, run_id, found.records, more=True)
            found.records.append(line)
    return found
