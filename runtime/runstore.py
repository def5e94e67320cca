"""The claim-check: a run's records as NDJSON pages in S3, never in the workflow state.

Layout (docs/architecture.md): `runs/{client_id}/{run_id}/{stage}/page-00001.ndjson`
for the extracted and canonical records, plus one NDJSON file per report
(`validation-report.ndjson`, `rejected.ndjson`, `failed-records.ndjson`) and
`summary.json`. Writers hold at most one page in memory (reports spool to a
temporary file past a few MB) and readers stream a page at a time, so memory
stays flat however large the catalog grows.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any, Literal

from botocore.exceptions import ClientError

from contract import jsontext
from runtime import aws, settings
from runtime.config import validate_client_id
from runtime.errors import InvalidEvent, RunDataError

RUN_ID_PATTERN = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$"
RUN_ID_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
NDJSON_CONTENT_TYPE = "application/x-ndjson"
SPOOL_MAX_BYTES = 256 * 1024
"""What a report writer keeps in memory before its lines go to a temporary file: small, so a
step writing several reports holds the same whatever the run's size (the operating system
buffers the file anyway; at 8 MB, five reports of a 1,000,000-record run's finish step held
40 MB that a 100,000-record run's never reached)."""
READ_CHUNK_BYTES = 64 * 1024
"""A page is read in chunks of this size: botocore's default of 1 KB makes a 1 MB page a
thousand Python-level reads (4x the time of these 64 KB ones); 64 KB is all it holds at once."""

Stage = Literal["extracted", "canonical"]
STAGES: tuple[Stage, ...] = ("extracted", "canonical")
REPORT_NAMES = (
    "validation-report.ndjson",
    "rejected.ndjson",
    "failed-records.ndjson",
    "retried.ndjson",
)


# --- run ids and keys -----------------------------------------------------------------


def new_run_id(started_at: datetime | None = None) -> str:
    """A run id that sorts by start time, to the millisecond: `20250115T100000Z-3e81a7`.

    The suffix is the millisecond as three hex digits (000-3e7) then three
    random ones, so two runs started within the same second still sort in
    the order they started: the newer-run guards and replay compare run ids.
    """
    moment = (started_at or datetime.now(UTC)).astimezone(UTC)
    millisecond = moment.microsecond // 1000
    return f"{moment.strftime(RUN_ID_TIME_FORMAT)}-{millisecond:03x}{secrets.token_hex(2)[:3]}"


def validate_run_id(run_id: object) -> str:
    """`run_id` when it has the run id shape; InvalidEvent otherwise (it becomes part of keys)."""
    if isinstance(run_id, str) and re.fullmatch(RUN_ID_PATTERN, run_id):
        return run_id
    shown = repr(run_id)[:80] if isinstance(run_id, str) else type(run_id).__name__
    raise InvalidEvent(f"run_id {shown} must look like 20250115T100000Z-3f9a1c")


def run_started_at(run_id: str) -> datetime:
    """The UTC start time encoded in a run id."""
    stamp = validate_run_id(run_id).split("-", 1)[0]
    return datetime.strptime(stamp, RUN_ID_TIME_FORMAT).replace(tzinfo=UTC)


def validate_bucket(bucket: object) -> str:
    """`bucket` when it is a plausible S3 bucket name; InvalidEvent otherwise."""
    if isinstance(bucket, str) and re.fullmatch(BUCKET_PATTERN, bucket):
        return bucket
    raise InvalidEvent("bucket must be an S3 bucket name")


def run_prefix(client_id: str, run_id: str) -> str:
    """`runs/{client_id}/{run_id}/`, refusing ids that could escape the prefix."""
    return f"runs/{validate_client_id(client_id)}/{validate_run_id(run_id)}/"


PART_PATTERN = r"^(?:[0-9]{5,}|retried)$"
PARTS_DIR = "parts/"
CANONICAL_PAGES_PER_PART = 1000
"""A part's canonical pages are numbered in its own block of this many (one-to-many mappings)."""


def validate_part(part: object) -> str:
    """`part` when it names a run part (`00042` for extracted page 42, or `retried`)."""
    if isinstance(part, str) and re.fullmatch(PART_PATTERN, part):
        return part
    raise InvalidEvent("part must be an extracted page's number (00042) or 'retried'")


def part_of_page(key: str) -> str:
    """The part an extracted page makes (`.../extracted/page-00042.ndjson` -> `00042`)."""
    return f"{page_number(key):05d}"


def part_prefix(client_id: str, run_id: str, part: str | None = None) -> str:
    """Where a part of a run writes its reports: `runs/{c}/{r}/parts/{part}/`; the run's own without one.

    A workflow that maps and loads page by page (a Map state) writes each
    page's reports under its part; the run's finish step gathers them into
    the run's own reports.
    """
    prefix = run_prefix(client_id, run_id)
    return prefix if part is None else f"{prefix}{PARTS_DIR}{validate_part(part)}/"


def first_canonical_page(part: str | None, page_count: int) -> int:
    """The number of a part's first canonical page: each part has its own block of numbers.

    Page part N takes block N; the retried part the block after the run's
    `page_count` pages.
    """
    if part is None:
        return 1
    block = page_count + 1 if validate_part(part) == "retried" else int(part)
    return (block - 1) * CANONICAL_PAGES_PER_PART + 1


def page_key(client_id: str, run_id: str, stage: Stage, number: int) -> str:
    """The key of page `number` (from 1) of a stage."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    if number < 1:
        raise ValueError("page numbers start at 1")
    return f"{run_prefix(client_id, run_id)}{stage}/page-{number:05d}.ndjson"


def validation_report_key(client_id: str, run_id: str, part: str | None = None) -> str:
    """One line per mapping issue."""
    return part_prefix(client_id, run_id, part) + "validation-report.ndjson"


def rejected_key(client_id: str, run_id: str, part: str | None = None) -> str:
    """One line per record the mapping rejected (id, reasons, the raw record for replay)."""
    return part_prefix(client_id, run_id, part) + "rejected.ndjson"


def retried_key(client_id: str, run_id: str, part: str | None = None) -> str:
    """Raw copies of the records this run retried from the client's retry state."""
    return part_prefix(client_id, run_id, part) + "retried.ndjson"


def stale_marks_key(client_id: str, run_id: str, seq: int) -> str:
    """The stale copies an extractor invocation noted (page -> keys), for the run's last one."""
    return f"{run_prefix(client_id, run_id)}extract-state/stale-{seq:05d}.json"


def page_number(key: str) -> int:
    """The number of a page from its key (`.../page-00042.ndjson` -> 42)."""
    return int(key.rsplit("page-", 1)[1].split(".", 1)[0])


def failed_records_key(client_id: str, run_id: str, part: str | None = None) -> str:
    """Every record of the run that did not reach the product."""
    return part_prefix(client_id, run_id, part) + "failed-records.ndjson"


def summary_key(client_id: str, run_id: str) -> str:
    """The loader summary."""
    return run_prefix(client_id, run_id) + "summary.json"


def check_run_key(key: object, client_id: str, run_id: str) -> str:
    """A key from an event must lie under this run's prefix (no reading another run's data)."""
    prefix = run_prefix(client_id, run_id)
    if isinstance(key, str) and key.startswith(prefix) and ".." not in key:
        return key
    raise InvalidEvent(f"S3 key {str(key)[:120]!r} is not under {prefix}")


# --- encoding -------------------------------------------------------------------------


def encode_line(record: Any) -> bytes:
    """One NDJSON line (UTF-8, compact, newline-terminated); a Decimal is a number with its digits."""
    return jsontext.dumps(record).encode("utf-8") + b"\n"


# --- the store ------------------------------------------------------------------------


class RunStore:
    """Reads and writes one bucket's run data."""

    def __init__(
        self, bucket: str | None = None, *, s3: Any | None = None, page_size: int | None = None
    ) -> None:
        self.bucket = validate_bucket(settings.config_bucket(bucket))
        self.s3 = s3 if s3 is not None else aws.client("s3")
        self.page_size = settings.run_page_size(page_size)

    # writing

    def put_bytes(self, key: str, body: bytes, content_type: str = NDJSON_CONTENT_TYPE) -> None:
        """Write one object."""
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def write_page(self, key: str, records: Iterable[Any]) -> int:
        """Write a whole page; returns how many records it holds."""
        lines = [encode_line(record) for record in records]
        self.put_bytes(key, b"".join(lines))
        return len(lines)

    def put_json(self, key: str, document: Any) -> None:
        """Write one JSON document (the summary)."""
        body = jsontext.dumps(document, indent=1).encode("utf-8")
        self.put_bytes(key, body, content_type="application/json")

    def delete(self, key: str) -> None:
        """Remove one object (a page emptied by deduplication)."""
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def page_writer(
        self, client_id: str, run_id: str, stage: Stage, first_page: int = 1
    ) -> PageWriter:
        """A writer that streams records into pages of `page_size`, numbered from `first_page`."""
        return PageWriter(self, client_id, run_id, stage, first_page)

    def ndjson_writer(self, key: str, *, skip_empty: bool = False) -> NdjsonWriter:
        """A writer for one (possibly large) NDJSON object.

        `skip_empty`: nothing is uploaded when nothing was written (a page's
        usually empty reports; their readers know the count).
        """
        return NdjsonWriter(self, key, skip_empty=skip_empty)

    # reading

    def _body(self, key: str) -> Any:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise RunDataError(f"run data s3://{self.bucket}/{key} is missing") from None
            raise RunDataError(
                f"run data s3://{self.bucket}/{key} could not be read ({code})"
            ) from None

    def iter_lines(self, key: str) -> Iterator[Any]:
        """The JSON values of one NDJSON object, streamed line by line."""
        body = self._body(key)
        try:
            for number, line in enumerate(body.iter_lines(READ_CHUNK_BYTES), start=1):
                if not line.strip():
                    continue
                try:
                    yield jsontext.loads(line)
                except ValueError:
                    raise RunDataError(
                        f"s3://{self.bucket}/{key} line {number} is not valid JSON"
                    ) from None
        finally:
            body.close()

    def read_page(self, key: str) -> list[dict[str, Any]]:
        """One whole page."""
        return list(self.iter_lines(key))

    def iter_pages(self, keys: Iterable[str]) -> Iterator[list[dict[str, Any]]]:
        """Pages one at a time, in order."""
        for key in keys:
            yield self.read_page(key)

    def iter_records(self, keys: Iterable[str]) -> Iterator[dict[str, Any]]:
        """Records one at a time across pages, in order."""
        for key in keys:
            yield from self.iter_lines(key)

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under `prefix`, in key order, a listing page (1,000 keys) at a time."""
        for key, _ in self.list_dated(prefix):
            yield key

    def list_dated(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """Every key under `prefix` and when it was last written, from the same listing."""
        paginator = self.s3.get_paginator("list_objects_v2")
        for listed in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in listed.get("Contents", []):
                yield str(item["Key"]), item["LastModified"]

    def rewrite(self, key: str) -> None:
        """Write an object again as it is, so its age starts over.

        Run data expires by age (the bucket's lifecycle rule on `runs/`); a
        client's state kept there that no run changed for a while is written
        again before that (runtime/shards.py `Layout.refresh`).
        """
        found = self.s3.get_object(Bucket=self.bucket, Key=key)
        body = found["Body"].read()
        self.put_bytes(key, body, content_type=found.get("ContentType") or NDJSON_CONTENT_TYPE)

    def get_json_if_present(self, key: str) -> Any | None:
        """One JSON document, or None when there is no object at `key`.

        Asked with a prefix listing, not a HEAD: the handlers may list only under
        `runs/`, and without that permission S3 answers 403, not 404, for a missing
        object, which could not be told from a refusal.
        """
        try:
            listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise RunDataError(
                f"run data s3://{self.bucket}/{key} could not be listed ({code})"
            ) from None
        if not any(item.get("Key") == key for item in listed.get("Contents", [])):
            return None
        return self.get_json(key)

    def get_json(self, key: str) -> Any:
        """One JSON document."""
        body = self._body(key)
        try:
            return jsontext.loads(body.read())
        except ValueError:
            raise RunDataError(f"s3://{self.bucket}/{key} is not valid JSON") from None
        finally:
            body.close()


class PageWriter:
    """Streams records into NDJSON pages of `page_size`, holding only the current page.

    `write` returns where the record landed (page number, index in page) so a
    caller can later replace it while the page is still open, or know which
    written page to rewrite.
    """

    def __init__(
        self, store: RunStore, client_id: str, run_id: str, stage: Stage, first_page: int = 1
    ) -> None:
        self.store = store
        self.client_id = client_id
        self.run_id = run_id
        self.stage = stage
        self.first_page = first_page
        page_key(client_id, run_id, stage, first_page)  # refuse odd ids before anything is written
        self.keys: list[str] = []
        self.count = 0
        self._buffer: list[bytes] = []
        self._closed = False

    @property
    def open_page(self) -> int:
        """Number of the page being filled."""
        return self.first_page + len(self.keys)

    def key_of(self, number: int) -> str:
        """The key of page `number` of this writer's stage."""
        return page_key(self.client_id, self.run_id, self.stage, number)

    def write(self, record: Any) -> tuple[int, int]:
        """Append one record; returns (page number, index in page)."""
        if self._closed:
            raise ValueError("page writer is closed")
        self._buffer.append(encode_line(record))
        self.count += 1
        where = (self.open_page, len(self._buffer) - 1)
        if len(self._buffer) >= self.store.page_size:
            self._flush()
        return where

    def replace(self, index: int, record: Any) -> None:
        """Replace a record of the open page (its newer copy arrived before the page was written)."""
        self._buffer[index] = encode_line(record)

    def _flush(self) -> None:
        if not self._buffer:
            return
        key = page_key(self.client_id, self.run_id, self.stage, self.open_page)
        self.store.put_bytes(key, b"".join(self._buffer))
        self.keys.append(key)
        self._buffer = []

    def close(self) -> list[str]:
        """Write the last page; returns every page key in order."""
        if not self._closed:
            self._flush()
            self._closed = True
        return list(self.keys)

    def __enter__(self) -> PageWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()


class NdjsonWriter:
    """Writes one NDJSON object, spooling to a temporary file past a few MB."""

    def __init__(self, store: RunStore, key: str, *, skip_empty: bool = False) -> None:
        self.store = store
        self.key = key
        self.skip_empty = skip_empty
        self.count = 0
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)  # noqa: SIM115
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once the object was uploaded or discarded."""
        return self._closed

    def write(self, record: Any) -> None:
        """Append one line."""
        self._file.write(encode_line(record))
        self.count += 1

    def close(self) -> str:
        """Upload (an empty object when nothing was written, unless `skip_empty`); the key."""
        if not self._closed and self.skip_empty and not self.count:
            self.discard()
        if not self._closed:
            self._closed = True
            self._file.seek(0)
            try:  # one PUT streaming the file: a managed upload reads 8 MB parts, ten at once
                self.store.s3.put_object(
                    Bucket=self.store.bucket,
                    Key=self.key,
                    Body=self._file,
                    ContentType=NDJSON_CONTENT_TYPE,
                )
            finally:
                self._file.close()
        return self.key

    def discard(self) -> None:
        """Drop what was written without uploading."""
        if not self._closed:
            self._closed = True
            self._file.close()

    def __enter__(self) -> NdjsonWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()
