"""The product records last sent for a client: what a stock-only sync sends again with a new quantity.

Kong and WMS have no partial update, so a stock sync sends the whole
product record the last full or incremental run sent, with the new
quantity. After every load (any sync type) the records that reached the
product are kept here, under the client's prefix, in shards
`runs/{client_id}/stock-records/n{N}/shard-NNNN.json` (a full sync picks N,
a power of two giving about SHARD_RECORDS records a shard, and names it in
`layout.json`: runtime/shards.py `Layout`; a store written before layouts
has BASE_SHARDS shards at the prefix, `shard-NNN.json`), each
`{erp_key: [entry, ...]}` with one entry per product record that ERP record
became (several for a one-to-many mapping): `{"id", "product", "warehouse"}`.
A record's shard is a hash of its ERP key, so a stock page reads only the
shards its rows need, and `ShardReader` keeps at most `max_records` records'
shards in memory: memory does not grow with the catalog.

The ERP key is the item code the ERP's stock rows carry (`f_codigo`, or the
Connekta saved query's key column): a line says it as `source_key`, else it
is read from the raw ERP record the line's `position` names (the record's own
id when that cannot be read).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from typing import Any

from contract import jsontext
from runtime.config import ClientConfig, validate_client_id
from runtime.errors import RunDataError
from runtime.observability import logger
from runtime.runstore import RunStore, encode_line
from runtime.shards import Layout, LineSpool, Survey
from runtime.shards import shard_of as shards_shard_of
from runtime.stages.stock import row_key

BASE_SHARDS = 64
"""The layout of a store written before `layout.json` existed (its shards at the prefix); the
next full sync moves it to the layout its catalog needs."""
SHARD_RECORDS = 2_000
"""A full sync picks the fewest shards (a power of two) that keep each to about
this many records, so what a step holds of one shard does not grow with the catalog."""
MAX_SHARDS = 512
"""... up to this many (about 20,000 records a shard at 10,000,000 products): a full sync
writes every shard, 512 PUTs at 1,000,000 products."""
JSON_CONTENT_TYPE = "application/json"
IO_THREADS = 8
"""Shards read or written at once (S3 requests wait on the network, not the CPU)."""
READER_RECORDS = 50_000
"""ERP records a `ShardReader` keeps in memory before it drops its oldest shards."""

Entry = dict[str, Any]
Shard = dict[str, list[Entry]]


def store_prefix(client_id: str) -> str:
    """`runs/{client_id}/stock-records/`."""
    return f"runs/{validate_client_id(client_id)}/stock-records/"


def shard_of(erp_key: str, shards: int) -> int:
    """The shard an ERP key lives in."""
    return shards_shard_of(erp_key, shards)


def _layout(client_id: str, per_shard: int = SHARD_RECORDS) -> Layout:
    return Layout(store_prefix(client_id), BASE_SHARDS, per_shard, MAX_SHARDS)


def shards_for(records: int, shard_records: int = SHARD_RECORDS) -> int:
    """How many shards a store of `records` records is written in (by a full sync)."""
    return Layout("", BASE_SHARDS, shard_records, MAX_SHARDS).shards_for(records)


def layout_key(client_id: str) -> str:
    """`runs/{client_id}/stock-records/layout.json`: how many shards the store is in."""
    return _layout(client_id).layout_key


def survey(store: RunStore, client_id: str) -> Survey:
    """The store's layout and shards, from one listing."""
    return _layout(client_id).survey(store, RunDataError)


def read_layout(store: RunStore, client_id: str) -> int:
    """The number of shards the client's store is in."""
    return survey(store, client_id).shards


def shard_key(client_id: str, shard: int, shards: int) -> str:
    """`runs/{client_id}/stock-records/n{shards}/shard-NNNN.json` (`.../shard-NNN.json`: BASE_SHARDS)."""
    return _layout(client_id).key(shard, shards)


def read_shard(
    store: RunStore,
    client_id: str,
    shard: int,
    shards: int,
    present: set[int] | None = None,
) -> Shard:
    """One shard ({} when nothing was kept there yet).

    `present`, the shards one listing found (`stored_shards`), saves a listing
    per shard: S3 bills a LIST as ten GETs, and a stock run reads every shard.
    """
    key = shard_key(client_id, shard, shards)
    if present is None:
        body = store.get_json_if_present(key)
    else:
        body = store.get_json(key) if shard in present else None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise RunDataError(f"{key} is not a JSON object")
    return body


def stored_shards(store: RunStore, client_id: str, shards: int | None = None) -> set[int]:
    """The shards of one layout (the one in use by default) the client's store holds now."""
    return survey(store, client_id).present(shards)


def source_key_reader(config: ClientConfig) -> Callable[[Any], str | None]:
    """How the ERP key is read from a raw ERP record of this client (its dialect's item key)."""
    if config.siesa_dialect == "connekta" and config.connekta is not None:
        from runtime.siesa.connekta import key_text

        column = config.connekta.key_column
        return lambda record: key_text(record.get(column)) if isinstance(record, dict) else None

    return row_key  # the trimmed f_codigo, as a stock row carries it


def stock_lines_of(record: Any) -> list[dict[str, Any]]:
    """The ERP record's stock lines: its first list of rows with an `f_bodega` (e.g. f_existencias)."""
    if isinstance(record, dict):
        for value in record.values():
            if (
                isinstance(value, list)
                and value
                and all(isinstance(row, dict) and "f_bodega" in row for row in value)
            ):
                return value
    return []


class LineWarehouses:
    """The warehouse each product record of a one-to-many mapping stands for.

    The client's `stock.line_warehouse_field` names a canonical field that
    says it; otherwise it is found: a record whose id is not its ERP key and
    whose ERP record holds stock lines is the k-th line the mapping kept of
    them (the lines it rejected, `rejected.ndjson`'s `part`s, skipped).
    Lines of one ERP record follow each other in the pages, in line order.
    """

    def __init__(self, config: ClientConfig, rejected_parts: dict[str, set[int]]) -> None:
        self.field = config.stock_settings.line_warehouse_field
        self.rejected_parts = rejected_parts
        self.position: Any = None
        self.index = 0

    def of(self, line: dict[str, Any], erp_key: str, raw: Any) -> str | None:
        """The line's warehouse, or None for a record that stands for its whole ERP item."""
        position = line.get("position")
        self.index = self.index + 1 if position == self.position else 0
        self.position = position
        canonical = line.get("canonical")
        if self.field is not None:
            value = canonical.get(self.field) if isinstance(canonical, dict) else None
            return None if value is None else str(value).strip()
        if str(line.get("id")) == erp_key:
            return None
        rows = stock_lines_of(raw)
        rejected = self.rejected_parts.get(str(position), set())
        kept = [row for part, row in enumerate(rows, start=1) if part not in rejected]
        if self.index >= len(kept):
            return None
        return str(kept[self.index].get("f_bodega") or "").strip() or None


def rejected_parts(lines: Iterable[Any]) -> dict[str, set[int]]:
    """Position -> the line numbers the mapping rejected there (`rejected.ndjson`)."""
    found: dict[str, set[int]] = {}
    for line in lines:
        if isinstance(line, dict) and isinstance(line.get("part"), int):
            found.setdefault(str(line.get("position")), set()).add(line["part"])
    return found


class _RawRecords:
    """The raw ERP record at a line's `position` (`key#n`), one page in memory at a time."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.page_key: str | None = None
        self.page: list[Any] = []

    def at(self, position: Any) -> Any:
        if not isinstance(position, str) or "#" not in position:
            return None
        key, _, number = position.rpartition("#")
        if key != self.page_key:
            try:
                self.page = list(self.store.iter_lines(key))
            except RunDataError:
                logger.warning(f"{key} could not be read: its records are kept by their own id")
                self.page = []
            self.page_key = key
        index = int(number) - 1 if number.isdigit() else -1
        return self.page[index] if 0 <= index < len(self.page) else None


def remember_sent(
    store: RunStore,
    config: ClientConfig,
    lines: Callable[[], Iterable[dict[str, Any]]],
    sent: set[str] | None,
    *,
    replace: bool,
    rejected: dict[str, set[int]] | None = None,
    shard_records: int = SHARD_RECORDS,
) -> int:
    """Keep the product records of `lines` whose id is in `sent` (None: every line's); returns how many.

    The run's lines are read once and their entries set aside on disk by
    shard (`_EntrySpool`); each shard is then written from its own entries,
    at most IO_THREADS shards at once. `replace` (a full sync): every shard is
    written anew, so records the full sync no longer sent are dropped, in as
    many shards as the records it kept need (`shards_for`, once they are set
    aside): a store that grew or shrank is written in its new layout, the
    old one removed after `layout.json` names the new. Otherwise the run's
    shards of the stored layout are read, merged and written. Either way a
    shard holds about SHARD_RECORDS records, and memory a few shards, not the
    run, whatever the catalog.
    """
    client_id = config.client_id
    layout = _layout(client_id, shard_records)
    found = layout.survey(store, RunDataError)  # only this call writes the store now
    if sent is not None and not sent and not replace:  # nothing sent: only what is old is written
        layout.refresh(store, found, ())
        return 0
    key_of = source_key_reader(config)
    with _EntrySpool() as spool:
        for erp_key, entry in _entries(store, config, lines(), sent, rejected, key_of):
            spool.add(erp_key, entry)
        shards = spool.shards = layout.shards_for(spool.count) if replace else found.shards
        stored = found.present(shards)
        touched = spool.touched()
        # a full sync empties the shards it left without entries (emptied: no delete)
        writes = sorted(set(touched) | stored) if replace else touched
        present = None if replace else stored
        _each_shard(writes, lambda shard: _write_shard(store, client_id, shard, spool, present))
    old = layout.settle(store, found, shards)
    if old:
        _each_shard(old, store.delete)
        logger.info(f"the stock store is now in {shards} shards (it was in {found.shards})")
    if shards == found.shards:  # shards no run changed for a while: written again, not expired
        layout.refresh(store, found, {shard_key(client_id, shard, shards) for shard in writes})
    return spool.count


def _each_shard(items: Iterable[Any], act: Callable[[Any], Any]) -> None:
    """`act` on each item, IO_THREADS at once; the first error is raised."""
    with ThreadPoolExecutor(max_workers=IO_THREADS) as pool:
        for done in [pool.submit(act, item) for item in items]:
            done.result()


class _EntrySpool:
    """A run's entries to keep, set aside by shard: a header `[erp_key, id]`, a tab, the entry's JSON.

    Compact JSON holds no raw tab or newline, so a line splits at its first
    tab, and the entry's text goes into the shard as it was encoded.
    """

    def __init__(self) -> None:
        self.shards = 1
        """The layout the entries are read back in (set once they are all added)."""
        self._lines = LineSpool()

    @property
    def count(self) -> int:
        """Entries set aside."""
        return self._lines.count

    def add(self, erp_key: str, entry: Entry) -> None:
        """Set one entry aside under its key."""
        header = _encoded([erp_key, entry["id"]])
        self._lines.add(erp_key, header + b"\t" + _encoded(entry) + b"\n")

    def touched(self) -> list[int]:
        """The shards with entries."""
        return self._lines.touched(self.shards)

    def held(self, shard: int) -> _Held:
        """One shard's entries by ERP key, in run order; a later entry of an id replaces its earlier."""
        held: _Held = {}
        for line in self._lines.lines(shard, self.shards):
            header, _, body = line.partition(b"\t")
            erp_key, record_id = jsontext.loads(header)
            entries = held.setdefault(erp_key, [])
            entries[:] = [(rid, old) for rid, old in entries if rid != record_id]
            entries.append((record_id, body.rstrip(b"\n")))
        return held

    def __enter__(self) -> _EntrySpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._lines.close()


def _entries(
    store: RunStore,
    config: ClientConfig,
    lines: Iterable[dict[str, Any]],
    sent: set[str] | None,
    rejected: dict[str, set[int]] | None,
    key_of: Callable[[Any], str | None],
) -> Iterator[tuple[str, Entry]]:
    """(ERP key, the entry to keep) for each line whose record was sent.

    A line that says its `source_key` (and `warehouse`) is taken as it is: a
    stock sync's, or a page's kept line (`sent_lines`); otherwise both are
    found from the raw ERP record at the line's `position`.
    """
    raw = _RawRecords(store)
    warehouses = LineWarehouses(config, rejected or {})
    for line in lines:
        record_id = line.get("id")
        if "source_key" in line:
            erp_key, warehouse = line["source_key"], line.get("warehouse")
        else:
            record = raw.at(line.get("position"))
            erp_key = key_of(record) or (None if record_id is None else str(record_id))
            warehouse = warehouses.of(line, erp_key or "", record)
        if not erp_key or record_id is None or (sent is not None and str(record_id) not in sent):
            continue
        yield (
            str(erp_key),
            {
                "id": str(record_id),
                "product": line.get("product"),
                "warehouse": warehouse,
            },
        )


def sent_lines(
    store: RunStore,
    config: ClientConfig,
    lines: Iterable[dict[str, Any]],
    sent: set[str],
    rejected: dict[str, set[int]] | None = None,
) -> Iterator[dict[str, Any]]:
    """One page's records that reached the product, as the store keeps them, with their ERP key.

    A page of a run mapped page by page writes these while its pages are at
    hand (its raw page is read once); the run's finish step then keeps them
    (`remember_sent` over these lines) without reading the run's product-ready
    and raw pages again.
    """
    key_of = source_key_reader(config)
    for erp_key, entry in _entries(store, config, lines, sent, rejected, key_of):
        yield {
            "id": entry["id"],
            "source_key": erp_key,
            "warehouse": entry["warehouse"],
            "product": entry["product"],
        }


_Held = dict[str, list[tuple[str, bytes]]]
"""One shard's fresh entries: ERP key -> [(record id, the entry as compact JSON)], in run order."""


def _write_shard(
    store: RunStore, client_id: str, shard: int, spool: _EntrySpool, present: set[int] | None
) -> None:
    """One shard with the spool's entries: replacing it (`present` None), or merged into what it held.

    Written compact: programs read the store, and `json` writes indented text
    only with its pure-Python encoder.
    """
    fresh = spool.held(shard)
    members: dict[str, list[bytes]] = {}
    if present is not None:
        stored = read_shard(store, client_id, shard, spool.shards, present)
        for erp_key, entries in stored.items():
            ids = {record_id for record_id, _ in fresh.get(erp_key, [])}
            members[erp_key] = [_encoded(e) for e in entries if e.get("id") not in ids]
    for erp_key, held in fresh.items():
        members.setdefault(erp_key, []).extend(body for _, body in held)
    body = b"{" + b",".join(_member(key, bodies) for key, bodies in members.items()) + b"}"
    store.put_bytes(shard_key(client_id, shard, spool.shards), body, content_type=JSON_CONTENT_TYPE)


def _encoded(value: Any) -> bytes:
    return jsontext.dumps(value).encode("utf-8")


def _member(erp_key: str, bodies: list[bytes]) -> bytes:
    """`"key":[entry,...]`, the entries' JSON as held."""
    return _encoded(erp_key) + b":[" + b",".join(bodies) + b"]"


class ShardReader:
    """Looks ERP keys up in a client's store, reading each shard once while memory allows."""

    def __init__(
        self,
        store: RunStore,
        client_id: str,
        *,
        shards: int | None = None,
        max_records: int = READER_RECORDS,
    ) -> None:
        self.store, self.client_id = store, client_id
        found = survey(store, client_id)  # one listing for the whole run
        self.shards = found.shards if shards is None else shards
        """The store's layout (`layout.json`), unless given."""
        self._present: set[int] = found.present(self.shards)
        self.max_records = max_records
        self._cache: OrderedDict[int, Shard] = OrderedDict()
        self.reads = 0

    def entries(self, erp_keys: Iterable[str]) -> Iterator[tuple[str, list[Entry]]]:
        """(key, its stored entries) for each key, shard by shard; [] for a key never sent."""
        by_shard: dict[int, list[str]] = {}
        for key in erp_keys:
            by_shard.setdefault(shard_of(key, self.shards), []).append(key)
        missing = [shard for shard in sorted(by_shard) if shard not in self._cache]
        read: dict[int, Shard] = {}
        if len(missing) > 1:
            with ThreadPoolExecutor(max_workers=IO_THREADS) as pool:
                read = dict(zip(missing, pool.map(self._read, missing), strict=True))
        for shard, keys in sorted(by_shard.items()):
            found = self._shard(shard, read.get(shard))
            for key in keys:
                yield key, found.get(key, [])

    def shard(self, shard: int) -> Shard:
        """One shard's entries by ERP key (read once while memory allows)."""
        return self._shard(shard)

    def _read(self, shard: int) -> Shard:
        return read_shard(self.store, self.client_id, shard, self.shards, self._present)

    def _shard(self, shard: int, read: Shard | None = None) -> Shard:
        if shard in self._cache:
            self._cache.move_to_end(shard)
            return self._cache[shard]
        found = read if read is not None else self._read(shard)
        self.reads += 1
        self._cache[shard] = found
        while len(self._cache) > 1 and sum(map(len, self._cache.values())) > self.max_records:
            self._cache.popitem(last=False)
        return found


class ShardSpool:
    """A run's stock rows, grouped by ERP key, set aside by the shard of the key.

    A stock page's items hash to every shard, so looking them up page by page
    reads each shard once per page when the store is larger than the reader
    may hold (a 100,000-product store is twice READER_RECORDS). Spooled by
    shard first, each shard is read once per run, whatever the catalog's size;
    memory holds one shard and a few spool buffers, the rest waits on disk.
    """

    def __init__(self, shards: int) -> None:
        self.shards = shards
        self._lines = LineSpool()

    def add(self, erp_key: str, rows: list[tuple[str, Any]]) -> None:
        """Set one item's rows (position, row) aside under its key."""
        self._lines.add(erp_key, encode_line([erp_key, rows]))

    def by_shard(self) -> Iterator[tuple[int, Iterator[tuple[str, list[tuple[str, Any]]]]]]:
        """(shard, its items in the order they came), shard by shard."""
        for shard in self._lines.touched(self.shards):
            yield shard, self._items(shard)

    def _items(self, shard: int) -> Iterator[tuple[str, list[tuple[str, Any]]]]:
        for line in self._lines.lines(shard, self.shards):
            erp_key, rows = jsontext.loads(line)
            yield str(erp_key), [(str(position), row) for position, row in rows]

    def close(self) -> None:
        """Drop the spools."""
        self._lines.close()

    def __enter__(self) -> ShardSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remember_loaded(
    store: RunStore,
    config: ClientConfig,
    sync_type: str,
    pages: list[str],
    loaded: set[str] | None,
    rejected_key: str,
    kept_lines: list[str] | None = None,
) -> int:
    """After a load: keep the product records that reached the product (a full sync replaces all).

    `kept_lines`: where the run's pages already wrote their `sent_lines` (a
    run mapped page by page), every one of a record that reached the
    product; read instead of the product-ready
    `pages`, with `loaded` None.
    """
    if kept_lines is not None:
        return remember_sent(
            store,
            config,
            lambda: chain.from_iterable(store.iter_lines(key) for key in kept_lines),
            loaded,
            replace=sync_type == "initial",
        )
    return remember_sent(
        store,
        config,
        lambda: store.iter_records(pages),
        loaded,
        replace=sync_type == "initial",
        rejected=rejected_parts(store.iter_lines(rejected_key)),
    )
