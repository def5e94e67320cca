"""A run's parts: their keys, their canonical page blocks, the batches each may send at once."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from runtime.errors import InvalidEvent
from runtime.handlers.load_part import part_workers
from runtime.handlers.parts import loaded_part_key, parts_of, transformed_part_key
from runtime.runstore import (
    CANONICAL_PAGES_PER_PART,
    RunStore,
    check_run_key,
    failed_records_key,
    first_canonical_page,
    page_key,
    part_of_page,
    part_prefix,
    validate_part,
)

CLIENT, RUN = "cliente-a", "20250115T100000Z-3f9a1c"


def test_a_part_is_an_extracted_page_or_the_retried_records_and_stays_under_its_run() -> None:
    page = page_key(CLIENT, RUN, "extracted", 42)
    assert part_of_page(page) == "00042"
    assert part_prefix(CLIENT, RUN, "00042") == f"runs/{CLIENT}/{RUN}/parts/00042/"
    assert failed_records_key(CLIENT, RUN, "retried").endswith(
        "/parts/retried/failed-records.ndjson"
    )
    assert failed_records_key(CLIENT, RUN) == f"runs/{CLIENT}/{RUN}/failed-records.ndjson"
    for key in (part_prefix(CLIENT, RUN, "00042"), failed_records_key(CLIENT, RUN, "retried")):
        assert check_run_key(key, CLIENT, RUN) == key


@pytest.mark.parametrize("bad", ["../x", "42", "retried/..", "", "00042/extra", None])
def test_a_part_name_from_an_event_cannot_reach_elsewhere(bad: object) -> None:
    with pytest.raises(InvalidEvent):
        validate_part(bad)


def test_each_part_numbers_its_canonical_pages_in_its_own_block() -> None:
    assert first_canonical_page(None, 7) == 1
    assert first_canonical_page("00001", 7) == 1
    assert first_canonical_page("00002", 7) == CANONICAL_PAGES_PER_PART + 1
    # the retried part comes after every page's block
    assert first_canonical_page("retried", 7) == 7 * CANONICAL_PAGES_PER_PART + 1


@pytest.mark.parametrize(
    ("concurrency", "page_concurrency", "pages", "workers"),
    [
        (4, 4, 1, 4),  # one page: it has the whole concurrency
        (4, 4, 2, 2),
        (4, 4, 100, 1),  # four pages at once, one batch each: four at the product
        (5, 4, 100, 2),  # rounded up: at most one more batch per page
        (1, 1, 100, 1),
    ],
)
def test_the_pages_running_at_once_share_the_clients_concurrency(
    concurrency: int, page_concurrency: int, pages: int, workers: int
) -> None:
    assert part_workers(concurrency, page_concurrency, pages) == workers


def test_the_pages_at_once_can_be_capped_for_the_local_engines_forked_children(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runtime import settings

    monkeypatch.delenv(settings.MAX_PAGE_CONCURRENCY_ENV, raising=False)
    assert settings.max_page_concurrency() == 64  # no cap below the client's concurrency
    monkeypatch.setenv(settings.MAX_PAGE_CONCURRENCY_ENV, "1")
    assert settings.max_page_concurrency() == 1
    # one page at a time: that page's loader has the client's whole concurrency
    assert part_workers(4, settings.max_page_concurrency(), 100) == 4


def test_parts_are_read_in_order_from_one_listing_with_no_request_for_a_missing_account(
    aws: Any,
) -> None:
    store = RunStore(aws.bucket, s3=aws.s3)
    names = [f"{n:05d}" for n in range(1, 21)] + ["retried"]
    for number, name in enumerate(names):
        store.put_json(transformed_part_key(CLIENT, RUN, name), {"n": number})
        if number % 3:  # every third part was never loaded
            store.put_json(loaded_part_key(CLIENT, RUN, name), {"n": number})
    calls: Counter[str] = Counter()
    store.s3.meta.events.register("before-call.s3", lambda model, **_: calls.update([model.name]))

    parts = list(parts_of(store, CLIENT, RUN))

    assert [part.name for part in parts] == names
    assert [part.loaded is None for part in parts] == [n % 3 == 0 for n in range(len(names))]
    assert all(part.transformed == {"n": n} for n, part in enumerate(parts))
    assert calls == {
        "ListObjectsV2": 1,
        "GetObject": len(names) + sum(1 for n in range(len(names)) if n % 3),
    }
