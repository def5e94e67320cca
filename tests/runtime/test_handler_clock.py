"""Every time stamp a run writes comes from `Deps.clock`: fix it, and the outputs show it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from local.sim import generate_catalog
from runtime.config_store import ConfigStore
from runtime.errors import InvalidEvent
from runtime.handlers.deps import Deps
from runtime.handlers.events import ExtractRequest, Transformed
from runtime.handlers.extract_run import extract
from runtime.handlers.load_run import load
from runtime.handlers.transform_run import transform
from runtime.sync_state import RunHistory

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

FIXED = datetime(2024, 2, 29, 23, 59, 58, 750_000, tzinfo=UTC)
FIXED_ISO = "2024-02-29T23:59:58Z"


def _fixed() -> datetime:
    return FIXED


def _client(platform: Any, client_id: str) -> None:
    _, siesa_url = platform.siesa(generate_catalog(30, seed=4, client=client_id))
    _, kong_url = platform.kong()
    platform.client(client_id, product_type="kong", siesa_url=siesa_url, product_url=kong_url)


def test_a_fixed_clock_stamps_every_stage_and_run_history(platform: Any) -> None:
    _client(platform, "cliente-t")
    request = ExtractRequest(client_id="cliente-t", sync_type="initial")
    extracted = extract(request, Deps(clock=_fixed))
    transformed = transform(extracted, Deps(clock=_fixed))
    summary = load(transformed, Deps(clock=_fixed))

    assert extracted.extraction_timestamp == FIXED_ISO
    assert extracted.run_id.startswith("20240229T235958Z-")
    assert extracted.watermark == "2024-02-29T18:59:58-05:00"  # the client's Siesa zone
    assert transformed.transformation_timestamp == FIXED_ISO
    assert summary["load_timestamp"] == FIXED_ISO
    run = RunHistory().get("cliente-t", extracted.run_id)
    assert run is not None and run["status"] in ("success", "partial")
    stamps = ("started_at", "extracted_at", "transformed_at", "finished_at", "updated_at")
    assert {name: run[name] for name in stamps} == dict.fromkeys(stamps, FIXED_ISO)
    config = ConfigStore().get("cliente-t")
    assert config.last_sync_timestamp == FIXED_ISO and config.updated_at == FIXED_ISO


def test_a_fixed_clock_stamps_a_failed_run(platform: Any) -> None:
    _client(platform, "cliente-f")
    extracted = extract(ExtractRequest(client_id="cliente-f"), Deps(clock=_fixed))
    transformed = transform(extracted, Deps(clock=_fixed))
    stale = Transformed.model_validate({**transformed.model_dump(), "product_type": "wms"})
    with pytest.raises(InvalidEvent, match="product_type 'wms'"):
        load(stale, Deps(clock=_fixed))
    run = RunHistory().get("cliente-f", extracted.run_id)
    assert run is not None and (run["status"], run["finished_at"]) == ("failed", FIXED_ISO)
    config = ConfigStore().get("cliente-f")
    assert (config.last_sync_status, config.last_sync_timestamp) == ("failed", FIXED_ISO)
