"""The demo's world: six clients, each with its own simulated Siesa and Kong or WMS.

The first four are the design document's diagram: cliente-a (Kong),
cliente-b (WMS), cliente-c (Kong), cliente-d (WMS, its inventory and
warehouse services on separate servers, named by `service_endpoints`).
The fifth, cliente-f (WMS), reads its ERP through Siesa's Connekta dialect:
a tenant of two ERP companies whose saved query pages overlap and come
shuffled, the client syncing company 1 with the `connekta-wms` mapping.
(It is not cliente-e: mappings/clients/cliente-e.map is the example
override of a REST client by that name.) WMS rather than Kong, because a
zone refusal does not depend on which of two records loads first, and
Connekta shuffles rows within a page. The sixth, cliente-g (WMS), runs the
version 2 mapping mappings/clients/cliente-g.map: its ERP nests each item's
stock per warehouse, so one ERP record becomes one WMS item per warehouse,
and inactive items are skipped.

Each ERP holds a seeded catalog with the ERP's quirks and a few invalid
records; a few valid records carry data only the product can refuse (an
RFID tag already bound to another product, a zone the WMS does not list),
so every outcome appears: loaded, rejected by the mapping, refused by the
product. A Connekta ERP serves its rows from the same kind of catalog, so
planting refusals and changing records edit the catalog alike. Every API
key and token is made fresh per run and reaches the AWS side only through
`ops.add_client` (Secrets Manager).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from contract.loaded import LoadedMapping
from local.demo_expect import Expectation, expect, rest_record_id
from local.sim import (
    Catalog,
    KongSim,
    SiesaSim,
    SimServer,
    WmsSim,
    generate_catalog,
)
from local.sim.connekta import (
    DEFAULT_COMPANY,
    DEFAULT_CUSTOM_QUERY,
    DEFAULT_ID_COMPANIA,
    ConnektaSim,
)
from local.sim.connekta_rows import item_number

UNLISTED_ZONE = "ZONE-X"
"""A zone the simulated WMS does not list: items in it are refused by the product."""


@dataclass(frozen=True)
class DemoClient:
    """One client of the demo: who it is and which product it runs."""

    client_id: str
    client_name: str
    product_type: str
    seed: int
    sync_schedule: str
    split_services: bool = False
    siesa_dialect: str = "rest"
    stock_lines: bool = False
    """The ERP serves each item's stock per warehouse (`f_existencias`)."""
    mapping: str | None = None
    """The client's own mapping, when it is not the product's."""

    @property
    def mapping_name(self) -> str:
        """The mapping the client's config names (`field_mappings_key`)."""
        if self.mapping is not None:
            return self.mapping
        if self.siesa_dialect == "connekta":
            return f"connekta-{self.product_type}"
        return self.product_type


DEMO_CLIENTS: tuple[DemoClient, ...] = (
    DemoClient("cliente-a", "Empresa A S.A.", "kong", 1, "rate(6 hours)"),
    DemoClient("cliente-b", "Empresa B S.A.", "wms", 2, "rate(4 hours)"),
    DemoClient("cliente-c", "Empresa C S.A.", "kong", 3, "rate(6 hours)"),
    DemoClient("cliente-d", "Empresa D S.A.", "wms", 4, "rate(4 hours)", split_services=True),
    DemoClient("cliente-f", "Empresa F S.A.", "wms", 6, "rate(4 hours)", siesa_dialect="connekta"),
    DemoClient(
        "cliente-g",
        "Empresa G S.A.",
        "wms",
        7,
        "rate(4 hours)",
        stock_lines=True,
        mapping="cliente-g",
    ),
)

CONNEKTA_QUERY = DEFAULT_CUSTOM_QUERY
"""The saved query a Connekta client runs (on the `custom` endpoint)."""
CONNEKTA_OTHER_COMPANY = 2
"""A second ERP company in the same Connekta tenant, whose rows the client must never load."""


@dataclass
class ClientWorld:
    """One client's simulated systems and the documents `siesa client add` takes."""

    spec: DemoClient
    catalog: Catalog
    siesa: SiesaSim | ConnektaSim
    siesa_url: str
    product: KongSim | WmsSim
    product_url: str
    service_endpoints: dict[str, str]
    siesa_key: str = field(repr=False)
    product_key: str = field(repr=False)
    siesa_token: str = field(default="", repr=False)
    planted_refusals: list[str] = field(default_factory=list)

    @property
    def client_id(self) -> str:
        """The client's id."""
        return self.spec.client_id

    @property
    def product_type(self) -> str:
        """kong or wms."""
        return self.spec.product_type

    @property
    def connekta(self) -> bool:
        """The client's ERP speaks Siesa's Connekta dialect (else REST)."""
        return isinstance(self.siesa, ConnektaSim)

    @property
    def secret_values(self) -> tuple[str, ...]:
        """Every key and token the client's documents carry: none may reach a log or the screen."""
        return tuple(
            value for value in (self.siesa_key, self.siesa_token, self.product_key) if value
        )

    def record_id(self, code: str) -> str:
        """The id the product knows an ERP catalog record by (`f_codigo`, or Connekta's f120_id)."""
        return str(item_number(code)) if self.connekta else code.strip()

    def product_ids(self, code: str) -> list[str]:
        """The ids of the product records one ERP record becomes (one per warehouse line)."""
        if not self.spec.stock_lines:
            return [self.record_id(code)]
        record = self.catalog.get(code) or {}
        lines = record.get("f_existencias") or []
        return [f"{code.strip()}-{line['f_bodega']}" for line in lines if isinstance(line, dict)]

    def erp_records(self) -> list[dict[str, Any]]:
        """The client's ERP records as its Siesa API serves them (what the mapping reads)."""
        if isinstance(self.siesa, ConnektaSim):
            return self.siesa.rows(DEFAULT_COMPANY)
        return self.catalog.records()

    def expectation(self, modules: Mapping[str, LoadedMapping]) -> Expectation:
        """What the product should hold now: the client's mapping applied to its ERP records."""
        record_id = _connekta_row_id if self.connekta else rest_record_id
        return expect(modules[self.spec.mapping_name], self.erp_records(), record_id)

    def config_document(self) -> dict[str, Any]:
        """The client config, as an operator writes client.json."""
        document: dict[str, Any] = {
            "client_id": self.client_id,
            "client_name": self.spec.client_name,
            "enabled": True,
            "product_type": self.product_type,
            "siesa_api_url": self.siesa_url,
            "product_api_url": self.product_url,
            "sync_schedule": self.spec.sync_schedule,
            "field_mappings_key": self.spec.mapping_name,
        }
        if self.connekta:
            document["siesa_dialect"] = "connekta"
            document["connekta"] = {
                "query": CONNEKTA_QUERY,
                "id_compania": DEFAULT_ID_COMPANIA,
                "company_code": DEFAULT_COMPANY,
                "endpoint": "custom",
            }
        return document

    def siesa_credentials(self) -> dict[str, Any]:
        """The Siesa credentials document (Connekta: the query's ConniKey and ConniToken)."""
        if self.connekta:
            return {
                "api_url": self.siesa_url,
                "conni_key": self.siesa_key,
                "conni_token": self.siesa_token,
            }
        return {
            "api_url": self.siesa_url,
            "api_key": self.siesa_key,
            "username": "integration_user",
            "tenant_id": f"{self.client_id}-tenant",
        }

    def product_credentials(self) -> dict[str, Any]:
        """The Kong or WMS credentials document."""
        document: dict[str, Any] = {
            "product_type": self.product_type,
            "api_url": self.product_url,
            "api_key": self.product_key,
            "tenant_id": self.client_id,
        }
        if self.product_type == "kong":
            document.update(database_type="rds", additional_config={"rfid_enabled": True})
        if self.service_endpoints:
            document["service_endpoints"] = dict(self.service_endpoints)
        return document

    def held(self) -> dict[str, dict[str, Any]]:
        """What the simulated product holds now, by record id."""
        if isinstance(self.product, KongSim):
            return self.product.products(self.client_id)
        return self.product.items(self.client_id)

    def live_store(self) -> dict[str, dict[str, Any]]:
        """The simulated product's own store of this client, by key: tests damage it behind the API."""
        if isinstance(self.product, KongSim):
            return self.product.tenant(self.client_id).products
        return self.product.tenant(self.client_id).items


def _product_sim(spec: DemoClient, key: str, stack: ExitStack) -> tuple[Any, str, dict[str, str]]:
    """The client's product simulator, its URL and, for split WMS, its service endpoints."""
    keys = {key: spec.client_id}
    if spec.product_type == "kong":
        kong = KongSim(api_keys=keys)
        server = stack.enter_context(SimServer(kong.wsgi_app))
        return kong, f"{server.url}/api/v1", {}
    wms = WmsSim(api_keys=keys)
    if not spec.split_services:
        server = stack.enter_context(SimServer(wms.combined_app))
        return wms, f"{server.url}/api/v1", {}
    inventory = stack.enter_context(SimServer(wms.inventory_app))
    warehouse = stack.enter_context(SimServer(wms.warehouse_app))
    endpoints = {"inventory": inventory.url, "warehouse": warehouse.url}
    return wms, inventory.url, endpoints


def _siesa_sim(
    spec: DemoClient, catalog: Catalog, products: int, key: str, token: str, stack: ExitStack
) -> tuple[SiesaSim | ConnektaSim, str]:
    """The client's simulated Siesa and its `siesa_api_url`.

    Connekta: one tenant holding the client's catalog as company 1 and
    another company's (half the size, the same item ids) as company 2.
    """
    if spec.siesa_dialect == "connekta":
        other = generate_catalog(products // 2, spec.seed + 100, client=f"{spec.client_id}-cia2")
        connekta = ConnektaSim(
            {DEFAULT_COMPANY: catalog, CONNEKTA_OTHER_COMPANY: other},
            credentials={CONNEKTA_QUERY: (key, token)},
        )
        server = stack.enter_context(SimServer(connekta.wsgi_app))
        return connekta, server.url
    siesa = SiesaSim(catalog, api_keys=key)
    server = stack.enter_context(SimServer(siesa.wsgi_app))
    return siesa, f"{server.url}/api/v1"


@contextmanager
def running_world(clients: Sequence[DemoClient], products: int) -> Iterator[dict[str, ClientWorld]]:
    """Start every client's simulators on loopback; stopped when the block ends."""
    with ExitStack() as stack:
        worlds: dict[str, ClientWorld] = {}
        for spec in clients:
            catalog = generate_catalog(
                products, spec.seed, client=spec.client_id, stock_lines=spec.stock_lines
            )
            siesa_key = secrets.token_urlsafe(18)
            siesa_token = secrets.token_urlsafe(24) if spec.siesa_dialect == "connekta" else ""
            product_key = secrets.token_urlsafe(18)
            siesa, siesa_url = _siesa_sim(spec, catalog, products, siesa_key, siesa_token, stack)
            product, product_url, endpoints = _product_sim(spec, product_key, stack)
            worlds[spec.client_id] = ClientWorld(
                spec=spec,
                catalog=catalog,
                siesa=siesa,
                siesa_url=siesa_url,
                product=product,
                product_url=product_url,
                service_endpoints=endpoints,
                siesa_key=siesa_key,
                product_key=product_key,
                siesa_token=siesa_token,
            )
        yield worlds


def _connekta_row_id(row: Mapping[str, Any]) -> str:
    return str(row.get("f120_id", ""))


def plant_product_refusals(world: ClientWorld, expectation: Expectation, count: int) -> list[str]:
    """Give `count` valid records data the mapping passes but the product refuses.

    Kong: a record takes the RFID tag of an earlier record (Kong binds a tag
    to one product). WMS: a record moves to a zone the WMS does not list.
    Timestamps stay as they are. Returns the changed record ids.
    """
    records = [
        record
        for record in world.catalog.records()
        if all(expectation.accepted(rid) for rid in world.product_ids(str(record["f_codigo"])))
        and world.product_ids(str(record["f_codigo"]))
    ]
    changed: list[str] = []
    if world.product_type == "kong":
        tagged = [record for record in records if _tag(record)]
        # pair the i-th tagged record with one far later in load order
        for giver, taker in zip(tagged[:count], tagged[len(tagged) // 2 :], strict=False):
            world.catalog.put({**taker, "f_tag_rfid": _tag(giver)})
            changed.extend(world.product_ids(str(taker["f_codigo"])))
    else:
        for record in records[len(records) // 3 :][:count]:
            world.catalog.put({**record, "f_zona": UNLISTED_ZONE})
            changed.extend(world.product_ids(str(record["f_codigo"])))
    world.planted_refusals = changed
    return changed


def _tag(record: dict[str, Any]) -> str | None:
    value = record.get("f_tag_rfid")
    return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class ErpChanges:
    """What changed in a client's ERP between the initial and the incremental sync."""

    moved: list[str]
    fixed: list[str]
    records: int
    """ERP records changed (each may be several product records: one per warehouse line)."""

    @property
    def all(self) -> list[str]:
        """Every changed record id."""
        return [*self.moved, *self.fixed]


def change_erp(world: ClientWorld, expectation: Expectation, count: int) -> ErpChanges:
    """Move the stock of `count` loaded records and fix one record the mapping rejected.

    Both bump `f_fecha_modificacion` to now, so the incremental sync sees them.
    Returns the record ids the product knows them by.
    """
    skip = set(world.planted_refusals)
    candidates = [
        code
        for code in (str(r["f_codigo"]).strip() for r in world.catalog.records())
        if world.product_ids(code)
        and all(expectation.accepted(rid) for rid in world.product_ids(code))
        and not skip.intersection(world.product_ids(code))
    ]
    step = max(1, len(candidates) // max(1, count))
    moved = candidates[::step][:count]
    world.catalog.modify(moved)
    fixed: list[str] = []
    negative = sorted(
        code for code, kind in world.catalog.invalid.items() if kind == "negative_quantity"
    )
    if negative:
        world.catalog.modify(negative[:1], changes={"f_cantidad": "12"})
        fixed.append(negative[0])
    return ErpChanges(
        moved=[rid for code in moved for rid in world.product_ids(code)],
        fixed=[rid for code in fixed for rid in world.product_ids(code)],
        records=len(moved) + len(fixed),
    )
