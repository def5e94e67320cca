"""The claim-check run store in moto's S3: run ids, keys, paging, streaming reads, refusals."""

from __future__ import annotations

import re
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runtime.errors import InvalidClientConfig, InvalidEvent, RunDataError
from runtime.runstore import (
    RunStore,
    check_run_key,
    new_run_id,
    page_key,
    run_prefix,
    run_started_at,
    validate_run_id,
)

RUN = "20250115T100000Z-3f9a1c"


def _records(count: int) -> list[dict[str, Any]]:
    return [
        {"f_codigo": f"P{index:05d}", "f_nombre": f"Ñandú {index}", "n": index}
        for index in range(count)
    ]


def test_run_ids_carry_their_start_time_and_sort_by_it() -> None:
    first = new_run_id(datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC))
    second = new_run_id(datetime(2025, 1, 15, 10, 0, 1, tzinfo=UTC))
    assert re.fullmatch(r"20250115T100000Z-[0-9a-f]{6}", first)
    assert first < second
    assert run_started_at(first) == datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC)
    instant = datetime(2025, 1, 15, 10, 0, 0, 999_999, tzinfo=UTC)
    assert len({new_run_id(instant) for _ in range(64)}) > 1  # a random part within the ms


def test_runs_started_within_one_second_sort_in_start_order() -> None:
    """The newer-run guards and replay compare run ids: a second is not fine enough."""
    start = datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC)
    ids = [new_run_id(start + timedelta(milliseconds=ms)) for ms in (0, 1, 9, 10, 255, 256, 999)]
    assert ids == sorted(ids)
    assert all(run_started_at(run_id) == start for run_id in ids)


@pytest.mark.parametrize("bad", ["20250115T100000Z", "../20250115T100000Z-3f9a1c", "x", 42, None])
def test_odd_run_ids_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidEvent, match="run_id"):
        validate_run_id(bad)


def test_key_builders() -> None:
    assert run_prefix("cliente-a", RUN) == f"runs/cliente-a/{RUN}/"
    assert (
        page_key("cliente-a", RUN, "canonical", 12)
        == f"runs/cliente-a/{RUN}/canonical/page-00012.ndjson"
    )
    with pytest.raises(InvalidClientConfig):
        page_key("../cliente-a", RUN, "extracted", 1)
    with pytest.raises(InvalidClientConfig):
        run_prefix("cliente-a/x", RUN)
    with pytest.raises(ValueError, match="stage"):
        page_key("cliente-a", RUN, "loaded", 1)  # type: ignore[arg-type]


def test_keys_from_events_must_belong_to_the_run() -> None:
    own = f"runs/cliente-a/{RUN}/extracted/page-00001.ndjson"
    assert check_run_key(own, "cliente-a", RUN) == own
    for other in (
        "runs/cliente-b/20250115T100000Z-3f9a1c/extracted/page-00001.ndjson",
        f"runs/cliente-a/{RUN}/../../cliente-b/x.ndjson",
        "mappings/manifest.json",
        7,
    ):
        with pytest.raises(InvalidEvent):
            check_run_key(other, "cliente-a", RUN)


def test_2500_records_stream_into_pages_and_back_in_order(aws: Any) -> None:
    store = RunStore(page_size=1000)
    records = _records(2500)
    with store.page_writer("cliente-a", RUN, "extracted") as writer:
        for record in records:
            writer.write(record)
            assert len(writer._buffer) < store.page_size  # never more than one page held
    keys = writer.close()
    assert keys == [page_key("cliente-a", RUN, "extracted", n) for n in (1, 2, 3)]
    assert [len(aws.ndjson(key)) for key in keys] == [1000, 1000, 500]
    assert list(store.iter_records(keys)) == records
    assert [len(page) for page in store.iter_pages(keys)] == [1000, 1000, 500]
    assert writer.count == 2500


def test_reading_is_lazy_page_by_page(aws: Any) -> None:
    store = RunStore(page_size=10)
    with store.page_writer("cliente-a", RUN, "canonical") as writer:
        for record in _records(25):
            writer.write(record)
    keys = writer.close()
    aws.s3.delete_object(Bucket=aws.bucket, Key=keys[2])
    records = store.iter_records(keys)
    first_twenty = [next(records) for _ in range(20)]
    assert [r["n"] for r in first_twenty] == list(range(20))
    with pytest.raises(RunDataError, match=r"page-00003.ndjson is missing"):
        next(records)


def test_write_reports_where_a_record_landed_and_open_pages_can_be_replaced(aws: Any) -> None:
    store = RunStore(page_size=2)
    writer = store.page_writer("cliente-a", RUN, "extracted")
    assert writer.write({"n": 0}) == (1, 0)
    assert writer.write({"n": 1}) == (1, 1)
    assert writer.write({"n": 2}) == (2, 0)
    writer.replace(0, {"n": 20})
    keys = writer.close()
    assert [store.read_page(key) for key in keys] == [[{"n": 0}, {"n": 1}], [{"n": 20}]]


def test_an_empty_stage_has_no_pages(aws: Any) -> None:
    store = RunStore()
    assert store.page_writer("cliente-a", RUN, "canonical").close() == []


def test_ndjson_writer_uploads_reports_even_when_empty(aws: Any) -> None:
    store = RunStore()
    key = f"{run_prefix('cliente-a', RUN)}validation-report.ndjson"
    with store.ndjson_writer(key) as writer:
        pass
    assert aws.object_text(key) == ""
    with store.ndjson_writer(key) as writer:
        for record in _records(3):
            writer.write(record)
    assert writer.count == 3
    assert list(store.iter_lines(key)) == _records(3)


def test_a_large_report_is_written_from_disk_with_little_in_memory(aws: Any) -> None:
    """A report past the writer's memory goes to a temporary file and is sent from there."""
    store = RunStore()
    key = f"{run_prefix('cliente-a', RUN)}skipped.ndjson"
    records = [{"id": f"P{index:07d}", "reason": "x" * 150} for index in range(20_000)]
    tracemalloc.start()
    try:
        with store.ndjson_writer(key) as writer:
            for record in records:
                writer.write(record)
            held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert writer.count == 20_000  # about 3.5 MB of lines
    assert held < 2**20  # a fraction of the report, whatever its size
    assert list(store.iter_lines(key)) == records


def test_an_ndjson_writer_that_failed_writes_nothing(aws: Any) -> None:
    store = RunStore()
    key = f"{run_prefix('cliente-a', RUN)}failed-records.ndjson"
    with pytest.raises(RuntimeError), store.ndjson_writer(key) as writer:
        writer.write({"id": "x"})
        raise RuntimeError("boom")
    assert aws.keys(run_prefix("cliente-a", RUN)) == []


def test_a_corrupt_line_is_named(aws: Any) -> None:
    key = page_key("cliente-a", RUN, "extracted", 1)
    aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=b'{"a": 1}\n{not json\n')
    with pytest.raises(RunDataError, match=r"page-00001.ndjson line 2 is not valid JSON"):
        RunStore().read_page(key)


def test_summaries_round_trip(aws: Any) -> None:
    store = RunStore()
    key = f"{run_prefix('cliente-a', RUN)}summary.json"
    store.put_json(key, {"status": "success", "name": "Ñandú"})
    assert store.get_json(key) == {"status": "success", "name": "Ñandú"}


def test_bucket_names_are_checked(aws: Any) -> None:
    with pytest.raises(InvalidEvent, match="bucket"):
        RunStore("Not_A_Bucket/..")
