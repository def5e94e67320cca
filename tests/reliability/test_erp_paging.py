"""Paging the ERP while it changes: no record slips through, and a listing that never settles fails.

The Siesa REST listing is cut at request time. When a record changes while
the extractor pages, an unchanged record can shift onto a page already read;
the source pages again until it has read as many records as the ERP counts.
A listing that keeps losing records pass after pass ends in SiesaUnavailable
(the workflow retries the extraction) instead of a run that silently misses
them and lets the watermark pass them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr

from local.sim import SiesaSim, SimServer, generate_catalog
from runtime.config import ClientConfig, SiesaCredentials
from runtime.errors import SiesaUnavailable
from runtime.http import SlidingWindowBudget
from runtime.siesa.rest import MAX_PASSES, RestSiesaSource

KEY = "paging-test-key-123"


def config_for(url: str) -> ClientConfig:
    return ClientConfig.model_validate(
        {
            "client_id": "cliente-p",
            "client_name": "P",
            "product_type": "kong",
            "siesa_api_url": url,
            "product_api_url": "https://kong.example",
        }
    )


def source(url: str) -> RestSiesaSource:
    return RestSiesaSource(
        config_for(url),
        SiesaCredentials(api_key=SecretStr(KEY)),
        budget=SlidingWindowBudget(1000, 1.0),
        sleep=lambda _: None,
        page_size=10,
    )


@pytest.fixture
def short_listing() -> Iterator[tuple[str, list[int]]]:
    """An ERP that always counts one record more than it serves (one is always shifted away)."""
    served: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        page = int(parse_qs(environ.get("QUERY_STRING", "")).get("page", ["1"])[0])
        served.append(page)
        data = [
            {"f_codigo": f"P{page}{n}", "f_fecha_modificacion": "2025-01-06 07:30:00"}
            for n in range(10 if page < 3 else 5)
        ]
        body = json.dumps(
            {
                "data": data,
                "pagination": {"page": page, "limit": 10, "total_records": 26, "total_pages": 3},
            }
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    with SimServer(app) as server:
        yield server.url, served


def test_a_listing_that_never_settles_fails_as_transient(
    short_listing: tuple[str, list[int]],
) -> None:
    url, served = short_listing
    with source(url) as erp, pytest.raises(SiesaUnavailable, match="25 of 26 records read"):
        for _ in erp.iter_pages(None):
            pass
    assert served == [1, 2, 3] * MAX_PASSES


def test_a_record_shifted_onto_a_read_page_is_read_by_another_pass() -> None:
    catalog = generate_catalog(55, seed=9, client="cliente-p")
    sim = SiesaSim(catalog, api_keys=KEY)
    sim.faults.set(move_record_after_page=2)
    with SimServer(sim.wsgi_app) as server, source(f"{server.url}/api/v1") as erp:
        read = [erp.record_key(record) for page in erp.iter_pages(None) for record in page]
    assert set(read) == set(catalog.ids())
    pages = [entry.query for entry in sim.log.entries()]
    assert len(pages) > 6  # a second pass ran


def test_a_listing_resumed_at_its_position_reads_on_from_there() -> None:
    """The extractor's cursor (runtime/siesa/base.py `pages_from`): a later invocation goes on."""
    catalog = generate_catalog(35, seed=9, client="cliente-p")
    sim = SiesaSim(catalog, api_keys=KEY)
    with SimServer(sim.wsgi_app) as server, source(f"{server.url}/api/v1") as erp:
        seen: set[str] = set()
        first = erp.pages_from(None, None, lambda: len(seen))
        records, position = next(first)
        seen.update(erp.record_key(record) for record in records)
        assert position == {"pass": 1, "page": 2, "total": 35}
        positions = []
        for records, later in erp.pages_from(None, position, lambda: len(seen)):
            seen.update(erp.record_key(record) for record in records)
            positions.append(later)
    assert seen == set(catalog.ids())
    assert positions[-1] == {"pass": 1, "page": 0, "total": 35}  # pass ended: checked on resume
    pages = [parse_qs(entry.query)["page"] for entry in sim.log.entries()]
    assert pages == [["1"], ["2"], ["3"], ["4"]]
