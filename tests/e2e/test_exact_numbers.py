"""A JSON number from the ERP reaches the product with every digit, through the local engine.

The simulated Siesa serves `f_precio` as the JSON number 12345678901234567890.125
(a float would keep about 17 digits); the extractor, the run store, the mapping
(`-> attributes.price as number`) and the Kong adapter must carry its text to
the simulated Kong, which reads request bodies with Decimal numbers.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import ops
from local.embedded_aws import LocalAws
from local.provision import provision
from mappings import MAPPINGS_DIR

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from alert_queue import subscribe_queue
from e2e_support import E2eEngine, kong_client, reset_runtime_caches, worlds

BIG = "12345678901234567890.125"
EXACT_MAP = """# Kong, with the ERP's price sent as a JSON number (version 2's `as number`).
version 2
mapping kong-exact extends "kong.map"

field custom:precio decimal optional <- f_precio -> attributes.price as number
"""


@pytest.fixture(scope="module")
def exact_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2eEngine]:
    """The embedded AWS with the repository's mappings plus kong-exact.map."""
    mappings = tmp_path_factory.mktemp("mappings") / "mappings"
    shutil.copytree(MAPPINGS_DIR, mappings, ignore=shutil.ignore_patterns("__pycache__"))
    (mappings / "kong-exact.map").write_text(EXACT_MAP, encoding="utf-8")
    reset_runtime_caches()
    with LocalAws(0) as aws:
        provisioned = provision(aws, mappings_dir=mappings)
        queue_url = subscribe_queue(
            aws, provisioned.outputs["AlertsTopicArn"], "siesa-integration-alerts-exact"
        )
        yield E2eEngine(aws, provisioned, ops.Deployment(aws.url), queue_url)
    reset_runtime_caches()


def test_a_long_decimal_reaches_the_product_with_every_digit(exact_engine: E2eEngine) -> None:
    with worlds(kong_client("exact-kong", seed=31), products=8) as running:
        world = running["exact-kong"]
        valid = [code for code in world.catalog.ids() if code not in world.catalog.invalid]
        world.catalog.modify(valid, changes={"f_precio": Decimal(BIG)})
        served = httpx.get(
            f"{world.siesa_url}/inventory/products",
            headers={"Authorization": f"Bearer {world.siesa_key}"},
        )
        assert f'"f_precio":{BIG}' in served.text  # the simulated ERP sends a JSON number

        exact_engine.add(world, field_mappings_key="kong-exact")
        outcome = exact_engine.sync("exact-kong")
        assert outcome.status in ("success", "partial"), outcome

        held = world.held()
        assert held, "Kong holds no product"
        prices = {product["attributes"].get("price") for product in held.values()}
        assert prices == {Decimal(BIG)}
        assert all(str(p["attributes"]["price"]) == BIG for p in held.values())
        state = httpx.get(f"{world.product_url.removesuffix('/api/v1')}/_sim/state")
        assert f'"price":{BIG}' in state.text
