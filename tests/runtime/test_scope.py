"""Which records leave a client's scope, and the config choice of what they become."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from runtime.config import ClientConfig
from runtime.product_types import add_registered, discard_registered
from runtime.scope import ABSENT, SKIPPED, LiveState, leaving, next_live


def client_values(**overrides: Any) -> dict[str, Any]:
    """A valid client config with `overrides` applied."""
    values: dict[str, Any] = {
        "client_id": "cliente-a",
        "client_name": "Empresa A",
        "product_type": "kong",
        "siesa_api_url": "https://a.siesa.com/api/v1",
        "product_api_url": "https://a.kong.com/api/v1",
    }
    return {**values, **overrides}


LIVE = LiveState("cliente-a", "20250115T100000Z-aaaaaa", {f"P{n}" for n in range(10)})


def test_a_skipped_live_record_leaves_scope_in_any_sync_and_a_skipped_stranger_does_not() -> None:
    found = leaving(LIVE, full_sync=False, seen={"P1", "P2"}, skipped={"P3", "NEW"})
    assert found.records == {"P3": SKIPPED}


def test_a_full_sync_finds_the_live_records_its_extract_lacks_an_incremental_one_cannot() -> None:
    seen = {f"P{n}" for n in range(2, 10)}
    assert leaving(LIVE, full_sync=True, seen=seen, skipped=()).records == {
        "P0": ABSENT,
        "P1": ABSENT,
    }
    assert leaving(LIVE, full_sync=False, seen=seen, skipped=()).records == {}


def test_a_full_extract_lacking_most_live_records_is_held_back_as_broken() -> None:
    found = leaving(LIVE, full_sync=True, seen={"P0", "P1"}, skipped=())
    assert found.records == {} and found.held_back == 8


def test_a_failed_action_stays_pending_and_is_tried_again_until_the_record_comes_back() -> None:
    after = next_live(LIVE, run_id="r2", loaded={"P9", "N1"}, left={"P0"}, pending={"P1": ABSENT})
    assert after.ids == {f"P{n}" for n in range(2, 10)} | {"N1"}
    assert after.pending == {"P1": ABSENT}
    assert leaving(after, full_sync=False, seen=(), skipped=()).records == {"P1": ABSENT}
    assert leaving(after, full_sync=False, seen={"P1"}, skipped=()).records == {}
    back = next_live(after, run_id="r3", loaded={"P1"}, left=(), pending={})
    assert "P1" in back.ids and back.pending == {}


@pytest.mark.parametrize("choice", ["zero_stock", "mark_inactive", "report"])
def test_kong_and_wms_clients_may_choose_any_leaving_scope_action(choice: str) -> None:
    for product in ("kong", "wms"):
        assert (
            ClientConfig(**client_values(product_type=product, left_scope=choice)).left_scope
            == choice
        )
    assert ClientConfig(**client_values()).left_scope == "report"


def test_an_unknown_choice_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="left_scope"):
        ClientConfig(**client_values(left_scope="delete"))


def test_a_product_without_the_field_refuses_the_choice_at_config_time() -> None:
    add_registered("tmsx")
    try:
        assert ClientConfig(**client_values(product_type="tmsx")).left_scope == "report"
        with pytest.raises(ValidationError, match="left_scope 'zero_stock' is not possible"):
            ClientConfig(**client_values(product_type="tmsx", left_scope="zero_stock"))
    finally:
        discard_registered("tmsx")
