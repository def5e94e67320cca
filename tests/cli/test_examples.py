"""The example files docs/operations.md tells operators to copy must pass `siesa client add`'s checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ops
from local.demo_expect import compile_mappings
from local.provision import MAPPINGS_DIR

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = DOCS / "examples"


@pytest.mark.parametrize(("folder", "product"), [("kong", "kong"), ("wms", "wms")])
def test_each_example_validates_as_a_new_client(folder: str, product: str) -> None:
    files = EXAMPLES / folder
    new = ops.check_new_client(
        (files / "client.json").read_text("utf-8"),
        (files / "siesa.json").read_text("utf-8"),
        (files / f"{product}.json").read_text("utf-8"),
    )
    config = new.config
    assert config.product_type == product
    assert config.product_credentials_secret == f"siesa-integration/{config.client_id}/{product}"
    assert new.rule_name == f"siesa-integration-{config.client_id}-schedule"
    assert len(new.rule_name) <= 64
    assert config.field_mappings_key in compile_mappings([MAPPINGS_DIR / f"{product}.map"])


def test_the_wms_example_names_a_url_per_service() -> None:
    new = ops.check_new_client(
        (EXAMPLES / "wms" / "client.json").read_text("utf-8"),
        (EXAMPLES / "wms" / "siesa.json").read_text("utf-8"),
        (EXAMPLES / "wms" / "wms.json").read_text("utf-8"),
    )
    assert set(new.product_credentials["service_endpoints"]) == {"inventory", "warehouse"}


def test_every_file_the_guide_links_exists() -> None:
    guide = (DOCS / "operations.md").read_text("utf-8")
    linked = re.findall(r"\]\((examples/[^)]+)\)", guide)
    assert len(linked) == 6
    for target in linked:
        assert (DOCS / target).is_file(), target
