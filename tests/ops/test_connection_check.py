"""`siesa client check`'s probes against the loopback simulators: one read per system, no retry."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from local.demo_world import DemoClient, running_world
from ops.connection_check import (
    ConnectionCheckFailed,
    check_connections,
    check_new_client_connections,
)
from ops.validation import check_new_client
from runtime.config import ProductCredentials, SiesaCredentials

CONNEKTA_WMS = DemoClient("chk-f", "F", "wms", 6, "rate(4 hours)", siesa_dialect="connekta")


@pytest.fixture(autouse=True)
def _local_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "local")  # the simulators' http://127.0.0.1 URLs


def _report(config: dict[str, Any], siesa: dict[str, Any], product: dict[str, Any]) -> Any:
    new = check_new_client(config, siesa, product)
    try:
        check_new_client_connections(new)
    except ConnectionCheckFailed as failed:
        return failed.report
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connekta_and_each_wms_service_answer_and_take_the_keys() -> None:
    with running_world([CONNEKTA_WMS], 5) as running:
        world = running["chk-f"]
        new = check_new_client(
            world.config_document(), world.siesa_credentials(), world.product_credentials()
        )
        report = check_connections(
            new.config,
            SiesaCredentials.model_validate(new.siesa_credentials),
            ProductCredentials.model_validate(new.product_credentials),
        )
    assert report.ok, report.failures()
    assert [probe.system for probe in report.probes] == ["siesa", "wms inventory", "wms warehouse"]
    assert all(probe.latency_ms is not None for probe in report.probes)


def test_a_wrong_key_is_reachable_but_not_authenticated_and_a_dead_host_is_not_reachable() -> None:
    with running_world([CONNEKTA_WMS], 5) as running:
        world = running["chk-f"]
        wrong = {**world.siesa_credentials(), "conni_token": "not-the-token"}
        refused = _report(world.config_document(), wrong, world.product_credentials())
        dead_url = f"http://127.0.0.1:{_free_port()}/api/v1"
        dead_product = {**world.product_credentials(), "api_url": dead_url, "service_endpoints": {}}
        dead = _report(
            {**world.config_document(), "product_api_url": dead_url},
            world.siesa_credentials(),
            dead_product,
        )
    siesa = refused.probes[0]
    assert (siesa.system, siesa.reachable, siesa.authenticated) == ("siesa", True, False)
    assert "not-the-token" not in siesa.detail
    assert all(probe.ok for probe in refused.probes[1:])
    assert dead.probes[0].ok
    for probe in dead.probes[1:]:
        assert (probe.reachable, probe.authenticated, probe.latency_ms) == (False, None, None)
        assert "127.0.0.1" in probe.url
