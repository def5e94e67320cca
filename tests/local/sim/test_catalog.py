"""The seeded catalog: realistic, deterministic, quirky where the contract says, invalid on purpose."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local.sim import Catalog, generate_catalog
from local.sim.catalog import (
    ERP_OFFSET,
    INVALID_KINDS,
    colombian_decimal,
    parse_erp_timestamp,
    parse_modified_since,
    record_key,
)
from local.sim.codes import is_valid_ean13

LOCATION = re.compile(r"[A-Z]-[0-9]{2}-[0-9]{2}")
STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
CATALOG = generate_catalog(600, seed=5)


def _text(record: dict[str, Any], field: str) -> str | None:
    value = record.get(field)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def test_the_same_seed_gives_the_same_catalog_and_others_differ() -> None:
    assert generate_catalog(600, seed=5).records() == CATALOG.records()
    assert generate_catalog(600, seed=5).invalid == CATALOG.invalid
    assert generate_catalog(600, seed=6).records() != CATALOG.records()
    assert generate_catalog(600, seed=5, client="cliente-b").records() != CATALOG.records()


def test_names_are_spanish_with_accents() -> None:
    names = [_text(r, "f_nombre") for r in CATALOG.records()]
    assert any(name and re.search(r"[áéíóúñÑ]", name) for name in names)
    assert any(name and name.startswith("Camisa Oxford Manga Larga") for name in names)
    assert all(
        r.get("f_categoria") in ("01", "02", "03", "04", "", None) for r in CATALOG.records()
    )


def test_every_valid_record_holds_well_formed_values() -> None:
    invalid = CATALOG.invalid
    for record in CATALOG.records():
        code = record_key(record)
        assert STAMP.fullmatch(record["f_fecha_modificacion"])
        if "f_fecha_creacion" in record:
            created = date.fromisoformat(record["f_fecha_creacion"])
            assert created <= parse_erp_timestamp(record["f_fecha_modificacion"]).date()
        if code in invalid:
            continue
        assert _text(record, "f_nombre"), code
        assert float(str(record["f_cantidad"])) >= 0
        assert LOCATION.fullmatch(record["f_ubicacion"]), code
        assert record["f_zona"] == f"ZONE-{record['f_ubicacion'][0]}"
        ean = _text(record, "f_ean")
        assert ean is None or is_valid_ean13(ean), code
        tag = _text(record, "f_tag_rfid")
        assert tag is None or re.fullmatch(r"[0-9A-F]{24}", tag)
        assert record["f_activo"] in ("S", "N", "")
        price = _text(record, "f_precio")
        assert price is None or re.fullmatch(r"\d{1,3}(\.\d{3})*,\d{2}", price)
        assert _text(record, "f_talla") and _text(record, "f_color")


def test_a_share_of_records_carries_the_erp_quirks() -> None:
    records = CATALOG.records()
    quirks = CATALOG.quirks
    assert 0.15 < len(quirks) / len(records) < 0.35
    assert {q for qs in quirks.values() for q in qs} == {
        "padded",
        "empty",
        "null",
        "missing",
        "quantity_string",
    }
    padded = [r for r in records if r["f_codigo"] != r["f_codigo"].strip()]
    assert padded and all("padded" in quirks[record_key(r)] for r in padded)
    strings = [r["f_cantidad"] for r in records if isinstance(r.get("f_cantidad"), str)]
    assert any(s.endswith(".0") for s in strings) and any(s.isdigit() for s in strings)


def test_invalid_records_are_listed_and_each_breaks_its_field() -> None:
    invalid = CATALOG.invalid
    assert len(invalid) == round(600 * 0.02)
    assert set(invalid.values()) == set(INVALID_KINDS)
    for code, kind in invalid.items():
        record = CATALOG.get(code)
        assert record is not None
        if kind == "bad_ean_check_digit":
            ean = _text(record, "f_ean")
            assert ean and len(ean) == 13 and ean.isdigit() and not is_valid_ean13(ean)
        elif kind == "negative_quantity":
            assert float(str(record["f_cantidad"])) < 0
        elif kind == "missing_name":
            assert _text(record, "f_nombre") is None
        else:
            assert not LOCATION.fullmatch(record["f_ubicacion"])


def test_shares_can_be_zero() -> None:
    clean = generate_catalog(100, seed=1, invalid_share=0, quirk_share=0)
    assert clean.invalid == {} and clean.quirks == {}
    assert all(r["f_codigo"] == r["f_codigo"].strip() for r in clean.records())


@pytest.mark.parametrize(
    "kwargs", [{"n": -1}, {"n": 5, "invalid_share": 1.5}, {"n": 5, "quirk_share": -0.1}]
)
def test_bad_generation_arguments_are_refused(kwargs: dict) -> None:
    n = kwargs.pop("n")
    with pytest.raises(ValueError):
        generate_catalog(n, seed=1, **kwargs)


# --- ordering and paging ----------------------------------------------------------------


def test_records_are_ordered_by_modification_then_code_with_ties() -> None:
    keys = [(r["f_fecha_modificacion"], record_key(r)) for r in CATALOG.records()]
    assert keys == sorted(keys)
    stamps = [stamp for stamp, _ in keys]
    assert len(set(stamps)) < len(stamps)


@settings(max_examples=40, deadline=None)
@given(limit=st.integers(min_value=1, max_value=1000))
def test_any_limit_pages_through_every_record_once_in_order(limit: int) -> None:
    seen: list[dict[str, Any]] = []
    page = 1
    while True:
        result = CATALOG.page(page, limit)
        assert result.total_records == 600
        assert result.total_pages == -(-600 // limit)
        seen.extend(result.data)
        if page >= result.total_pages:
            break
        page += 1
    assert seen == CATALOG.records()


@settings(max_examples=40, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=599),
    offset_hours=st.integers(min_value=-12, max_value=14),
)
def test_modified_since_is_inclusive_in_any_offset(index: int, offset_hours: int) -> None:
    records = CATALOG.records()
    stamp = records[index]["f_fecha_modificacion"]
    since = parse_erp_timestamp(stamp).astimezone(timezone(timedelta(hours=offset_hours)))
    got = CATALOG.page(1, 1000, since).data
    assert got == [r for r in records if r["f_fecha_modificacion"] >= stamp]


def test_page_arguments_are_checked() -> None:
    for page, limit in ((0, 10), (1, 0), (1, 1001)):
        with pytest.raises(ValueError):
            CATALOG.page(page, limit)


# --- changes -----------------------------------------------------------------------------


def test_modify_bumps_the_timestamp_and_moves_the_quantity_in_its_own_format() -> None:
    catalog = generate_catalog(200, seed=9)
    as_string = next(
        record_key(r)
        for r in catalog.records()
        if isinstance(r["f_cantidad"], str) and record_key(r) not in catalog.invalid
    )
    as_number = next(r for r in catalog.records() if isinstance(r["f_cantidad"], int))
    code = record_key(as_number)
    before = catalog.get(as_string)
    now = datetime(2026, 2, 1, 15, 30, 0, tzinfo=ERP_OFFSET)
    changed = catalog.modify([as_string, f"  {code} "], now=now)
    assert [record_key(r) for r in changed] == [as_string, code]
    after = catalog.get(as_string)
    assert after is not None and before is not None
    assert after["f_fecha_modificacion"] == "2026-02-01 15:30:00"
    assert isinstance(after["f_cantidad"], str) and after["f_cantidad"] != before["f_cantidad"]
    assert isinstance(catalog.get(code)["f_cantidad"], int)  # type: ignore[index]
    assert catalog.ids()[-2:] == sorted([as_string, code])


def test_modify_accepts_an_instant_in_any_zone_and_explicit_changes() -> None:
    catalog = generate_catalog(10, seed=1)
    code = catalog.ids()[0]
    catalog.modify(
        [code], now=datetime(2026, 2, 1, 20, 30, tzinfo=UTC), changes={"f_nombre": "Nuevo"}
    )
    record = catalog.get(code)
    assert record is not None
    assert record["f_fecha_modificacion"] == "2026-02-01 15:30:00"
    assert record["f_nombre"] == "Nuevo"


def test_modify_with_an_unknown_id_changes_nothing() -> None:
    catalog = generate_catalog(10, seed=1)
    before = catalog.records()
    with pytest.raises(KeyError, match="NOPE"):
        catalog.modify([catalog.ids()[0], "NOPE"])
    assert catalog.records() == before


def test_put_and_remove_and_their_checks() -> None:
    catalog = Catalog(client="cliente-x")
    catalog.put({"f_codigo": " 000123 ", "f_fecha_modificacion": "2025-01-15 10:00:00"})
    assert catalog.get("000123") == {
        "f_codigo": " 000123 ",
        "f_fecha_modificacion": "2025-01-15 10:00:00",
    }
    with pytest.raises(ValueError, match="f_codigo"):
        catalog.put({"f_codigo": "  ", "f_fecha_modificacion": "2025-01-15 10:00:00"})
    with pytest.raises(ValueError, match="YYYY-MM-DD HH:MM:SS"):
        catalog.put({"f_codigo": "X", "f_fecha_modificacion": "2025-01-15T10:00:00"})
    catalog.remove("000123")
    assert len(catalog) == 0


def test_stock_rows_follow_the_items() -> None:
    catalog = generate_catalog(50, seed=2)
    rows = catalog.stock_page(1, 1000).data
    assert {record_key(r) for r in rows} == set(catalog.ids())
    code = catalog.ids()[0]
    catalog.modify([code], changes={"f_cantidad": 77})
    main = catalog.stock_page(1, 10, product_id=code, warehouse_id="BOD-01").data
    assert [r["f_cantidad"] for r in main] == [77]


# --- value helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234.5, "1.234,50"), (89900, "89.900,00"), (0.5, "0,50"), (1234567.25, "1.234.567,25")],
)
def test_colombian_decimal(value: float, text: str) -> None:
    assert colombian_decimal(value) == text


def test_modified_since_parsing() -> None:
    assert parse_modified_since("2025-01-15T10:00:00Z") == datetime(2025, 1, 15, 10, tzinfo=UTC)
    assert parse_modified_since("2025-01-15T05:00:00-05:00") == datetime(
        2025, 1, 15, 10, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="offset"):
        parse_modified_since("2025-01-15T10:00:00")
    with pytest.raises(ValueError, match="%2B"):
        parse_modified_since("2025-01-15T10:00:00 00:00")  # an unencoded "+"
