"""The demo's independent check: it must catch every way a product can differ from its mapping."""

from __future__ import annotations

import pytest

from contract.loaded import LoadedMapping
from local.demo_expect import compile_mappings, expect, verify
from local.provision import MAPPINGS_DIR
from local.sim import generate_catalog
from local.sim.connekta import ConnektaSim
from local.sim.connekta_rows import item_number


@pytest.fixture(scope="module")
def kong() -> LoadedMapping:
    return compile_mappings([MAPPINGS_DIR / "kong.map"])["kong"]


def test_a_faithful_store_matches(kong: LoadedMapping) -> None:
    catalog = generate_catalog(120, 5, client="expect-a")
    expectation = expect(kong, catalog.records())
    assert expectation.rejected, "the seeded catalog has records the mapping rejects"
    store = {
        rid: dict(product, attributes=product.get("attributes") or {})
        for rid, product in expectation.products.items()
    }
    check = verify("expect-a", expectation, store, refused={})
    assert check.ok and check.matching == len(expectation.products)
    assert check.rejected_and_absent == len(expectation.rejected)


def test_every_kind_of_difference_is_a_problem(kong: LoadedMapping) -> None:
    catalog = generate_catalog(120, 5, client="expect-a")
    expectation = expect(kong, catalog.records())
    store = {rid: dict(product) for rid, product in expectation.products.items()}
    ids = sorted(store)
    changed, lost, refused = ids[0], ids[1], ids[2]
    store[changed]["quantity"] += 1
    del store[lost], store[refused]
    rejected = sorted(expectation.rejected)[0]
    store[rejected] = {"product_id": rejected}
    store["NOT-IN-ERP"] = {"product_id": "NOT-IN-ERP"}

    check = verify("expect-a", expectation, store, refused={refused: "Kong: refused"})

    assert not check.ok
    assert check.refused_and_reported == 1
    text = "\n".join(check.problems)
    assert f"{changed}: the product holds other values for quantity" in text
    assert f"{lost}: the mapping accepts it, but the product lacks it" in text
    assert f"{rejected}: the mapping rejects it" in text
    assert "NOT-IN-ERP: the product holds it, but the ERP has no such record" in text
    assert len(check.problems) == 4


def test_connekta_rows_are_named_by_their_item_id() -> None:
    modules = compile_mappings([MAPPINGS_DIR / "wms.map", MAPPINGS_DIR / "connekta" / "wms.map"])
    catalog = generate_catalog(150, 6, client="expect-f")
    rows = ConnektaSim(catalog).rows(1)
    expectation = expect(modules["connekta-wms"], rows, lambda row: str(row["f120_id"]))
    invalid = {str(item_number(code)) for code in catalog.invalid}
    assert invalid and set(expectation.rejected) == invalid
    assert set(expectation.products) == {str(item_number(code)) for code in catalog.ids()} - invalid
    some = next(iter(expectation.products.values()))
    assert some["item_id"].isdigit() and some["item_name"] == some["item_name"].strip()
