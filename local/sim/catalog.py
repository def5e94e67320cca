"""A seeded catalog of Siesa ERP items, with the ERP's quirks, and the contract's paging.

The catalog is the ERP's data, apart from any HTTP dialect: the REST simulator
(siesa.py) serves it today and a Connekta simulator can serve the same catalog.
Records look the way the contract says the ERP stores them: padded strings,
empty strings or nulls for missing values, quantities as strings, prices in
Colombian notation, "S"/"N" flags and local timestamps without offset. A few
records are invalid on purpose (bad EAN check digit, negative quantity, missing
name, malformed location) and `Catalog.invalid` says which and why, so a test
can check that every one of them is reported.
"""

from __future__ import annotations

import bisect
import random
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from local.sim.codes import break_ean13, random_ean13, random_epc
from local.sim.paging import DEFAULT_LIMIT, Page, paginate
from local.sim.vocabulary import (
    ADULT_SIZES,
    AUDIENCES,
    CHILD_SIZES,
    COLOURS,
    GARMENTS,
    ONE_SIZE,
    SHOE_SIZES,
    WAREHOUSES,
    ZONES,
)

ERP_OFFSET = timezone(timedelta(hours=-5), "UTC-05:00")
"""The contract compares ERP timestamps as UTC-5 (America/Bogota has no DST)."""
ERP_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
CATALOG_START = datetime(2025, 1, 6, 7, 30, 0)
"""Local ERP time of the oldest generated record."""

INVALID_KINDS: dict[str, str] = {
    "bad_ean_check_digit": "f_ean",
    "negative_quantity": "f_cantidad",
    "missing_name": "f_nombre",
    "malformed_location": "f_ubicacion",
}
"""Kinds of invalid record the generator makes, and the ERP field each one breaks.

`malformed_location` breaks only products that map the location (WMS)."""

OPTIONAL_FIELDS = (
    "f_nombre_corto",
    "f_ean",
    "f_tag_rfid",
    "f_categoria",
    "f_material",
    "f_precio",
)
"""Fields that quirky records leave empty, null or out (none of them is required downstream)."""


def erp_timestamp(moment: datetime) -> str:
    """Format an instant as the ERP stores it: local UTC-5, no offset, whole seconds.

    A naive datetime is taken as ERP local time already.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(ERP_OFFSET).replace(tzinfo=None)
    return moment.strftime(ERP_TIMESTAMP_FORMAT)


def parse_erp_timestamp(value: str) -> datetime:
    """An ERP `f_fecha_modificacion` as an aware datetime (UTC-5)."""
    return datetime.strptime(value, ERP_TIMESTAMP_FORMAT).replace(tzinfo=ERP_OFFSET)


def parse_modified_since(value: str) -> datetime:
    """Parse `modified_since` (ISO 8601 with an offset or Z); ValueError otherwise."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"modified_since {value!r} is not an ISO 8601 date-time "
            "(e.g. 2025-01-15T10:00:00-05:00; encode '+' as %2B in a URL)"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(
            f"modified_since {value!r} has no UTC offset (e.g. 2025-01-15T10:00:00-05:00)"
        )
    return moment


def colombian_decimal(value: float) -> str:
    """1234.5 -> "1.234,50": dots group thousands, a comma marks decimals."""
    whole, cents = f"{value:,.2f}".split(".")
    return whole.replace(",", ".") + "," + cents


def record_key(record: Mapping[str, Any]) -> str:
    """The item's identity: `f_codigo` without the ERP's padding."""
    return str(record["f_codigo"]).strip()


class Catalog:
    """The ERP's items and stock, thread-safe, paged as the contract says.

    Items are ordered by (`f_fecha_modificacion`, `f_codigo`); pages are cut at
    request time, so `modify()` between two page requests moves a record.
    """

    def __init__(
        self,
        records: Iterable[Mapping[str, Any]] = (),
        *,
        client: str = "cliente-a",
        seed: int = 0,
        invalid: Mapping[str, str] | None = None,
        quirks: Mapping[str, Iterable[str]] | None = None,
        extra_stock: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
        stock_lines: bool = False,
    ) -> None:
        self.client = client
        self.stock_lines = stock_lines  # serve stock per warehouse and a nested weight (_served)
        self.seed = seed
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, Any]] = {}
        self._order: list[dict[str, Any]] | None = None
        self._invalid = dict(invalid or {})
        self._quirks = {k: list(v) for k, v in (quirks or {}).items()}
        self._extra_stock = {k: [dict(row) for row in v] for k, v in (extra_stock or {}).items()}
        self._rng = random.Random(f"{client}:{seed}:modify")  # nosec B311 # seeded so a simulated catalogue is the same every run; nothing secret is drawn
        for record in records:
            self.put(record)

    # --- reading ---------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def ids(self) -> list[str]:
        """Item codes (unpadded) in contract order."""
        return [record_key(r) for r in self._ordered()]

    def records(self) -> list[dict[str, Any]]:
        """Copies of every record, in contract order, as the ERP serves them."""
        return [self._served(r) for r in self._ordered()]

    def get(self, code: str) -> dict[str, Any] | None:
        """A copy of one record by code (padding ignored), or None."""
        with self._lock:
            record = self._records.get(code.strip())
            return self._served(record) if record is not None else None

    @property
    def invalid(self) -> dict[str, str]:
        """Code -> kind (a key of INVALID_KINDS) for every record made invalid on purpose."""
        with self._lock:
            return dict(self._invalid)

    @property
    def quirks(self) -> dict[str, list[str]]:
        """Code -> the quirks applied to that record (padded, empty, null, missing, ...)."""
        with self._lock:
            return {k: list(v) for k, v in self._quirks.items()}

    def page(
        self, page: int = 1, limit: int = DEFAULT_LIMIT, modified_since: datetime | None = None
    ) -> Page:
        """One page of items modified at or after `modified_since` (inclusive), in order."""
        ordered = self._ordered()
        if modified_since is not None:
            ordered = ordered[self._first_at_or_after(ordered, modified_since) :]
        served = paginate(ordered, page, limit)
        if self.stock_lines:
            served.data[:] = [self._served(record) for record in served.data]
        return served

    def stock_page(
        self,
        page: int = 1,
        limit: int = DEFAULT_LIMIT,
        *,
        warehouse_id: str | None = None,
        product_id: str | None = None,
    ) -> Page:
        """Stock levels by location, ordered by (code, warehouse), optionally filtered."""
        rows = []
        with self._lock:
            for code in sorted(self._records):
                if product_id is not None and code != product_id.strip():
                    continue
                for row in self._stock_rows(code):
                    if warehouse_id is None or row["f_bodega"] == warehouse_id.strip():
                        rows.append(row)
        return paginate(rows, page, limit)

    def snapshot(self) -> dict[str, Any]:
        """Everything the ERP holds, as JSON (GET /_sim/state)."""
        with self._lock:
            return {
                "client": self.client,
                "seed": self.seed,
                "count": len(self._records),
                "invalid": dict(self._invalid),
                "quirks": {k: list(v) for k, v in self._quirks.items()},
                "records": self.records(),
            }

    # --- writing ---------------------------------------------------------------

    def put(self, record: Mapping[str, Any]) -> None:
        """Insert or replace one record (f_codigo and f_fecha_modificacion required)."""
        if not isinstance(record.get("f_codigo"), str) or not str(record["f_codigo"]).strip():
            raise ValueError("a record needs a non-empty string f_codigo")
        stamp = record.get("f_fecha_modificacion")
        if not isinstance(stamp, str):
            raise ValueError(f"record {record_key(record)!r}: f_fecha_modificacion is required")
        try:
            parse_erp_timestamp(stamp)
        except ValueError:
            raise ValueError(
                f"record {record_key(record)!r}: f_fecha_modificacion must be YYYY-MM-DD HH:MM:SS"
            ) from None
        with self._lock:
            self._records[record_key(record)] = dict(record)
            self._order = None

    def modify(
        self,
        ids: Iterable[str],
        now: datetime | None = None,
        changes: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Change records and bump their `f_fecha_modificacion` to `now`.

        Without `changes`, the stock quantity moves (kept in the record's own
        format: a string stays a string). `now` defaults to the current time; a
        naive `now` is ERP local time. Unknown ids raise KeyError and change nothing.
        """
        codes = [code.strip() for code in ids]
        stamp = erp_timestamp(now if now is not None else datetime.now(ERP_OFFSET))
        with self._lock:
            unknown = [code for code in codes if code not in self._records]
            if unknown:
                raise KeyError(f"unknown item codes: {', '.join(unknown)}")
            changed = []
            for code in codes:
                record = self._records[code]
                if changes is not None:
                    record.update(changes)
                else:
                    record["f_cantidad"] = self._moved_quantity(record.get("f_cantidad"))
                record["f_fecha_modificacion"] = stamp
                changed.append(dict(record))
            self._order = None
            return changed

    def change_stock(
        self, ids: Iterable[str], *, warehouse: str | None = None, by: int | None = None
    ) -> dict[str, Any]:
        """Raise the stock of items in one warehouse (default the main one), nothing else.

        What a stock-only sync must catch: the item's `f_fecha_modificacion`
        stays, so an incremental sync does not see it. Each quantity rises by
        `by` (default a seeded 1..25), so it always changes; a string stays a
        string. Returns code -> the new quantity. Unknown ids, or an item
        without a row in `warehouse`, raise KeyError and change nothing.
        """
        codes = [code.strip() for code in ids]
        main = warehouse is None or warehouse == WAREHOUSES[0]
        with self._lock:
            for code in codes:
                if code not in self._records:
                    raise KeyError(f"unknown item code: {code}")
                if not main and not any(
                    row.get("f_bodega") == warehouse for row in self._extra_stock.get(code, ())
                ):
                    raise KeyError(f"item {code} has no stock in warehouse {warehouse}")
            changed: dict[str, Any] = {}
            for code in codes:
                delta = by if by is not None else self._rng.choice([1, 2, 4, 10, 25])
                rows = (
                    [self._records[code]]
                    if main
                    else [r for r in self._extra_stock[code] if r.get("f_bodega") == warehouse]
                )
                for row in rows:
                    row["f_cantidad"] = _raised(row.get("f_cantidad"), delta)
                    changed[code] = row["f_cantidad"]
            return changed

    def remove(self, code: str) -> None:
        """Delete one record (KeyError when absent)."""
        with self._lock:
            del self._records[code.strip()]
            self._order = None

    # --- internals -------------------------------------------------------------

    def _served(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of the record as the ERP serves it: with stock lines when the catalog has them.

        Such an ERP nests an item's stock per warehouse in `f_existencias` and
        its weight in `f_dimensiones`, as some Siesa installations' item
        queries do; the lines are the same rows `/inventory/stock` serves.
        """
        served = dict(record)
        if not self.stock_lines:
            return served
        with self._lock:
            rows = (
                self._stock_rows(record_key(record)) if record_key(record) in self._records else []
            )
        served["f_existencias"] = [
            {key: row.get(key) for key in ("f_bodega", "f_ubicacion", "f_cantidad")} for row in rows
        ]
        grams = 150 + sum(map(ord, record_key(record))) * 37 % 1850
        served["f_dimensiones"] = {"peso_g": str(grams), "unidad": "g"}
        return served

    def _ordered(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._order is None:
                self._order = sorted(
                    self._records.values(),
                    key=lambda r: (r["f_fecha_modificacion"], record_key(r)),
                )
            return list(self._order)

    @staticmethod
    def _first_at_or_after(ordered: list[dict[str, Any]], since: datetime) -> int:
        local = since.astimezone(ERP_OFFSET).replace(tzinfo=None)
        if local.microsecond:  # records have whole seconds: 10:00:00.5 admits 10:00:01 on
            local = local.replace(microsecond=0) + timedelta(seconds=1)
        bound = local.strftime(ERP_TIMESTAMP_FORMAT)
        stamps = [r["f_fecha_modificacion"] for r in ordered]
        return bisect.bisect_left(stamps, bound)

    def _moved_quantity(self, value: Any) -> Any:
        delta = self._rng.choice([-5, -3, -2, -1, 1, 2, 4, 10, 25])
        if isinstance(value, bool) or value is None:
            return max(0, delta)
        if isinstance(value, int | float):
            return max(0, int(value) + delta)
        try:
            number = int(float(str(value).strip()))
        except ValueError:
            return max(0, delta)
        moved = max(0, number + delta)
        return f"{moved}.0" if "." in str(value) else str(moved)

    def _stock_rows(self, code: str) -> list[dict[str, Any]]:
        record = self._records[code]
        quantity = record.get("f_cantidad")
        main = {
            "f_codigo": record["f_codigo"],
            "f_bodega": WAREHOUSES[0],
            "f_ubicacion": record.get("f_ubicacion"),
            "f_cantidad": quantity if isinstance(quantity, int | float | str) else 0,
        }
        extra = [{"f_codigo": record["f_codigo"], **row} for row in self._extra_stock.get(code, ())]
        return [main, *extra]


def _raised(value: Any, delta: int) -> Any:
    """A quantity raised by `delta`, in its own format ("100.0" stays a string with a point)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) + delta
    try:
        number = int(float(str(value).strip()))
    except ValueError:
        return delta
    return f"{number + delta}.0" if "." in str(value) else str(number + delta)


# --- generation ----------------------------------------------------------------


def _ascii_upper(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


def _sizes_for(garment_sizes: str, audience: str) -> tuple[str, ...]:
    if garment_sizes == "shoe":
        return SHOE_SIZES
    if garment_sizes == "one":
        return ONE_SIZE
    return CHILD_SIZES if audience in ("Niño", "Niña") else ADULT_SIZES


def _price(rng: random.Random, low: int, high: int) -> str:
    pesos = rng.randrange(low, high + 1, 1000)
    cents = rng.choice((0.0, 0.0, 0.0, 0.5))
    return colombian_decimal(pesos + cents)


def _base_record(rng: random.Random, index: int, modified: datetime) -> dict[str, Any]:
    code = f"PROD{index:06d}"
    garment = rng.choice(GARMENTS)
    colour = rng.choice(COLOURS)
    audience = rng.choice(AUDIENCES) if garment.sizes != "one" else ""
    size = rng.choice(_sizes_for(garment.sizes, audience))
    zone = ZONES[int(garment.category) - 1]
    created = modified - timedelta(days=rng.randint(0, 120), seconds=rng.randint(0, 86_399))
    flag = rng.random()
    return {
        "f_codigo": code,
        "f_codigo_externo": f"SIESA-{code}",
        "f_nombre": " ".join(part for part in (garment.name, colour, audience) if part),
        "f_nombre_corto": f"{garment.short} {colour}",
        "f_referencia": f"{_ascii_upper(garment.short)[:3]}-{index:06d}-{_ascii_upper(size)}",
        "f_ean": random_ean13(rng),
        "f_categoria": garment.category,
        "f_cantidad": rng.randint(0, 500),
        "f_ubicacion": f"{zone}-{rng.randint(1, 20):02d}-{rng.randint(1, 10):02d}",
        "f_zona": f"ZONE-{zone}",
        "f_tag_rfid": random_epc(rng),
        "f_precio": _price(rng, garment.price_min, garment.price_max),
        "f_activo": "S" if flag < 0.93 else ("N" if flag < 0.98 else ""),
        "f_fecha_creacion": created.date().isoformat(),
        "f_fecha_modificacion": erp_timestamp(modified),
        "f_talla": size,
        "f_color": colour,
        "f_material": garment.material,
    }


def _apply_quirks(rng: random.Random, record: dict[str, Any]) -> list[str]:
    """Make a record look the way the ERP stores it at its worst; returns the quirk names."""
    applied = rng.sample(
        ["padded", "empty", "null", "missing", "quantity_string"], rng.randint(1, 3)
    )
    for quirk in applied:
        if quirk == "padded":
            record["f_codigo"] = rng.choice((f" {record['f_codigo']} ", f"{record['f_codigo']}   "))
            for field in ("f_nombre", "f_referencia", "f_ean", "f_color", "f_talla"):
                if isinstance(record.get(field), str):
                    record[field] = f"{record[field]}{' ' * rng.randint(1, 8)}"
        elif quirk in ("empty", "null", "missing"):
            for field in rng.sample(OPTIONAL_FIELDS, rng.randint(1, 3)):
                if quirk == "empty":
                    record[field] = ""
                elif quirk == "null":
                    record[field] = None
                else:
                    record.pop(field, None)
        else:
            quantity = int(record["f_cantidad"])
            record["f_cantidad"] = rng.choice((str(quantity), f"{quantity}.0"))
    return applied


def _make_invalid(rng: random.Random, record: dict[str, Any], kind: str) -> None:
    if kind == "bad_ean_check_digit":
        record["f_ean"] = break_ean13(random_ean13(rng))
    elif kind == "negative_quantity":
        record["f_cantidad"] = rng.choice((-rng.randint(1, 50), f"-{rng.randint(1, 50)}"))
    elif kind == "missing_name":
        if rng.random() < 0.5:
            record["f_nombre"] = " " * rng.randint(0, 3)
        else:
            record.pop("f_nombre", None)
    elif kind == "malformed_location":
        record["f_ubicacion"] = rng.choice(("A-1-5", "A01-05", "PASILLO 3", "a-01-05", "A-01"))
    else:
        raise ValueError(f"unknown invalid kind {kind!r}")


DEFAULT_INVALID_SHARE = 0.02
"""Share of generated records that are invalid (bad EAN, negative quantity, no name, bad location).

`malformed_location` breaks only products that map the location (WMS), so a
Kong client sees about 1.5% of its records fail and a WMS client about 2%."""


def generate_catalog(
    n: int,
    seed: int,
    *,
    client: str = "cliente-a",
    invalid_share: float = DEFAULT_INVALID_SHARE,
    quirk_share: float = 0.25,
    start: datetime = CATALOG_START,
    stock_lines: bool = False,
) -> Catalog:
    """A catalog of `n` items, the same for the same (n, seed, client, shares).

    `quirk_share` of the records carry the ERP's formatting quirks (still valid);
    `round(n * invalid_share)` records are invalid, cycling through INVALID_KINDS.
    Timestamps start at `start` (ERP local time) and advance; some records share
    a timestamp, as an ERP batch update does, so the f_codigo tie-break matters.
    `stock_lines` serves each item with its stock per warehouse and a nested
    weight (`Catalog._served`), the layout a one-to-many mapping reads.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0 <= invalid_share <= 1 or not 0 <= quirk_share <= 1:
        raise ValueError("invalid_share and quirk_share must be within 0..1")
    rng = random.Random(f"{client}:{seed}")  # nosec B311 # seeded so a simulated catalogue is the same every run; nothing secret is drawn
    records: list[dict[str, Any]] = []
    extra_stock: dict[str, list[dict[str, Any]]] = {}
    quirks: dict[str, list[str]] = {}
    moment = start
    for index in range(1, n + 1):
        if rng.random() >= 0.2:  # 1 in 5 shares its predecessor's timestamp
            moment += timedelta(seconds=rng.randint(1, 3_600))
        record = _base_record(rng, index, moment)
        code = record["f_codigo"]
        if rng.random() < 0.3:
            zone = record["f_ubicacion"][0]
            extra_stock[code] = [
                {
                    "f_bodega": WAREHOUSES[1],
                    "f_ubicacion": f"{zone}-{rng.randint(21, 40):02d}-{rng.randint(1, 10):02d}",
                    "f_cantidad": rng.randint(0, 200),
                }
            ]
        if rng.random() < quirk_share:
            quirks[code] = _apply_quirks(rng, record)
        records.append(record)
    invalid: dict[str, str] = {}
    kinds = list(INVALID_KINDS)
    chosen = sorted(rng.sample(range(n), round(n * invalid_share)))
    for position, index in enumerate(chosen):
        kind = kinds[position % len(kinds)]
        _make_invalid(rng, records[index], kind)
        invalid[record_key(records[index])] = kind
    return Catalog(
        records,
        client=client,
        seed=seed,
        invalid=invalid,
        quirks=quirks,
        extra_stock=extra_stock,
        stock_lines=stock_lines,
    )
