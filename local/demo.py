"""`siesa demo`: the whole workflow on this machine, with nothing from outside.

1. Start the embedded AWS (moto, executing infra/statemachine.asl.json) and
   provision it from infra/template.yaml; start a simulated Siesa (REST, or
   Connekta for the fifth client) and Kong or WMS per client (demo_world.py).
2. Register the six clients with `ops.add_client`, the path `siesa client
   add` takes.
3. Run their initial syncs at once through the state machine, with
   progress bars, and show per client what was extracted, rejected by the
   mapping (with the top reasons), loaded, and refused by the product.
4. Change some records in each ERP, run the incremental syncs, and show
   that only those records moved.
5. Raise the stock of a few items in one client's ERP (the version 2 WMS
   client: one item per warehouse) and run its stock-only sync: only those
   quantities move, and the watermark stays (demo_stock.py).
6. Check what every simulated product holds against what the mappings say
   it should hold, computed apart from the workflow (demo_expect.py).
   Exit 0 only when every client matches.

Handler logs (JSON lines and EMF metrics) go to a file, not the terminal.
Written to a pipe or a file (CI logs, `make demo | tee`), the output is laid
out PIPE_WIDTH columns wide, where rich would assume 80 and cut the tables'
headers and values short.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

import ops
from contract.loaded import LoadedMapping
from local.demo_expect import (
    Expectation,
    compile_mappings,
    differing_fields,
    verify,
)
from local.demo_stock import run_stock_sync, stock_world
from local.demo_world import (
    CONNEKTA_QUERY,
    DEMO_CLIENTS,
    ClientWorld,
    DemoClient,
    ErpChanges,
    change_erp,
    plant_product_refusals,
    running_world,
)
from local.embedded_aws import LocalAws, isolated_from_env
from local.provision import provision
from mappings import MAPPINGS_DIR
from ops.progress import SyncBars
from ops.render import styled_status
from runtime import mapping_loader, secrets
from runtime.runstore import RunStore, failed_records_key, validation_report_key
from runtime.sync_state import RunHistory

DEFAULT_PRODUCTS = 2500
DEFAULT_CHANGES = 20
DEFAULT_REFUSALS = 3
SYNC_TIMEOUT_SECONDS = 600.0
TOP_REASONS = 3
PIPE_WIDTH = 120
"""Columns of the demo's output when stdout is not a terminal: every table fits unabridged."""
DIALECT_NAMES = {"rest": "REST", "connekta": "Connekta"}


@dataclass
class RunReport:
    """One client's sync as the demo shows it."""

    world: ClientWorld
    outcome: ops.SyncOutcome
    mapping_reasons: Counter[str] = field(default_factory=Counter)
    product_failures: dict[str, str] = field(default_factory=dict)
    duplicates_dropped: int = 0

    @property
    def summary(self) -> dict[str, Any]:
        """The loader summary ({} when the run ended before loading)."""
        return self.outcome.summary or {}

    @property
    def extracted(self) -> int | None:
        """Records the extractor wrote."""
        return self.outcome.progress.extracted

    @property
    def rejected(self) -> int:
        """Records the mapping rejected."""
        return self.outcome.progress.rejected or 0

    @property
    def loaded(self) -> int:
        """Records that reached the product."""
        return int(self.summary.get("records_success") or 0)

    @property
    def skipped(self) -> int:
        """Records a `skip when` rule left out (not failures)."""
        return int(self.summary.get("records_skipped") or 0)


@dataclass
class DemoResult:
    """Everything the demo found; `exit_code` is 0 only when every check passed."""

    initial: dict[str, RunReport] = field(default_factory=dict)
    incremental: dict[str, RunReport] = field(default_factory=dict)
    stock: dict[str, RunReport] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log_path: Path | None = None

    @property
    def exit_code(self) -> int:
        """0 when everything matched, 1 otherwise."""
        return 0 if not self.problems else 1


def run_demo(
    products: int = DEFAULT_PRODUCTS,
    *,
    changes: int = DEFAULT_CHANGES,
    refusals: int = DEFAULT_REFUSALS,
    clients: Sequence[DemoClient] = DEMO_CLIENTS,
    console: Console | None = None,
    log_dir: Path | None = None,
) -> DemoResult:
    """Run the demo; returns what it found (print goes to `console`, stdout by default)."""
    shown = console or demo_console(sys.stdout)
    began = time.monotonic()
    folder = log_dir or Path(tempfile.mkdtemp(prefix="siesa-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "handlers.log"
    result = DemoResult(log_path=log_path)
    with (
        log_path.open("w", encoding="utf-8") as handler_log,
        redirect_stdout(handler_log),
        warnings.catch_warnings(),
    ):
        # The executions share this process's Powertools Metrics (on Lambda each has its
        # own container), so its "dimension overwritten" warning is expected here.
        warnings.filterwarnings("ignore", message="Dimension .* has already been added")
        _Demo(shown, products, changes, refusals, clients, result).run()
    result.seconds = round(time.monotonic() - began, 1)
    _closing(shown, result)
    return result


def demo_console(file: TextIO) -> Console:
    """A console on `file`: a terminal's own width, else at least PIPE_WIDTH columns.

    rich gives a pipe or a file 80 columns (or $COLUMNS), too few for the
    demo's tables; a wider $COLUMNS is kept.
    """
    console = Console(file=file)
    if console.is_terminal:
        return console
    # soft_wrap: a plain line is left whole for the log viewer to wrap; tables still fit
    return Console(file=file, width=max(console.width, PIPE_WIDTH), soft_wrap=True)


class _Demo:
    """The demo's steps, in order, printing as it goes."""

    def __init__(
        self,
        console: Console,
        products: int,
        changes: int,
        refusals: int,
        clients: Sequence[DemoClient],
        result: DemoResult,
    ) -> None:
        self.console = console
        self.products = products
        self.changes = changes
        self.refusals = refusals
        self.clients = clients
        self.result = result

    def run(self) -> None:
        say = self.console.print
        # a fresh embedded AWS is a fresh account: forget secrets and mappings read before
        secrets.clear_cache()
        mapping_loader.clear_cache()
        # each Lambda invocation in a child process killed at its timeout, as on AWS
        with LocalAws(0, isolated=isolated_from_env(default=True)) as aws:
            provision(aws)
            deployment = ops.Deployment(aws.url)
            say(
                f"[bold]Siesa integration demo[/]: embedded AWS at {aws.url} "
                f"(stack, tables, bucket, topic, state machine, mapping bundle provisioned)",
                highlight=False,
            )
            modules = compile_mappings(sorted(MAPPINGS_DIR.rglob("*.map")))
            with running_world(self.clients, self.products) as worlds:
                for world in worlds.values():
                    plant_product_refusals(world, world.expectation(modules), self.refusals)
                    ops.add_client(
                        world.config_document(),
                        world.siesa_credentials(),
                        world.product_credentials(),
                        deployment=deployment,
                    )
                    say(_registered_line(world, self.products), highlight=False)
                self._initial(deployment, worlds)
                before = {cid: world.held() for cid, world in worlds.items()}
                expected_before = {cid: w.expectation(modules) for cid, w in worlds.items()}
                erp_changes = {
                    cid: change_erp(world, expected_before[cid], self.changes)
                    for cid, world in worlds.items()
                }
                self._incremental(deployment, worlds, before, erp_changes, modules)
                self._stock(deployment, worlds)
                self._verify(worlds, modules)

    # --- initial -----------------------------------------------------------------------

    def _initial(self, deployment: ops.Deployment, worlds: Mapping[str, ClientWorld]) -> None:
        self.console.rule(f"Initial syncs, all {len(worlds)} at once, through the state machine")
        self.result.initial = run_syncs(deployment, worlds, "initial", self.console)
        self.console.print(initial_table(self.result.initial.values()))
        for report in self.result.initial.values():
            if report.duplicates_dropped:
                self.console.print(
                    f"  {report.world.client_id}: Siesa sent {report.duplicates_dropped} records "
                    "twice (Connekta's pages overlap); the extractor kept one copy of each",
                    highlight=False,
                )
        self.console.print(reasons_table(self.result.initial.values()))
        for report in self.result.initial.values():
            for record_id, reason in sorted(report.product_failures.items()):
                self.console.print(
                    f"  {report.world.client_id}: {report.world.product_type} refused "
                    f"{record_id}: {reason}",
                    highlight=False,
                    markup=False,
                )
            if report.outcome.status == "failed":
                self.result.problems.append(
                    f"{report.world.client_id}: the initial sync failed: {report.outcome.error}: "
                    f"{report.outcome.cause}"
                )

    # --- incremental -------------------------------------------------------------------

    def _incremental(
        self,
        deployment: ops.Deployment,
        worlds: Mapping[str, ClientWorld],
        before: Mapping[str, dict[str, dict[str, Any]]],
        erp_changes: Mapping[str, ErpChanges],
        modules: Mapping[str, LoadedMapping],
    ) -> None:
        self.console.rule("Some records change in each ERP; incremental syncs")
        reports = run_syncs(deployment, worlds, "incremental", self.console)
        self.result.incremental = reports
        table = Table(title="Incremental syncs: only what changed moves", title_justify="left")
        for column in (
            "client",
            "changed in ERP",
            "extracted",
            "loaded",
            "product records changed",
            "others untouched",
            "status",
        ):
            table.add_column(column, justify="right" if column != "client" else "left")
        for client_id, world in worlds.items():
            report = reports[client_id]
            changed = erp_changes[client_id]
            after = world.held()
            moved = {rid for rid, held in after.items() if before[client_id].get(rid) != held}
            expectation = world.expectation(modules)
            wanted = {
                rid
                for rid in changed.all
                if rid in expectation.products
                and (
                    rid not in before[client_id]
                    or differing_fields(before[client_id][rid], expectation.products[rid])
                )
            }
            untouched = len(set(after) - moved)
            table.add_row(
                client_id,
                _count(changed.records),
                _count(report.extracted),
                _count(report.loaded),
                _count(len(moved)),
                _count(untouched),
                styled_status(report.outcome.status),
            )
            if report.extracted != changed.records:
                self.result.problems.append(
                    f"{client_id}: the incremental sync extracted {report.extracted} records, "
                    f"but {changed.records} changed in the ERP"
                )
            if moved != wanted:
                self.result.problems.append(
                    f"{client_id}: product records that changed {sorted(moved)} are not the ones "
                    f"the ERP changes call for {sorted(wanted)}"
                )
            if report.outcome.status == "failed":
                self.result.problems.append(
                    f"{client_id}: the incremental sync failed: {report.outcome.error}"
                )
        self.console.print(table)
        self.console.print(
            f"  changed in each ERP: the stock of {self.changes} loaded records, and one record "
            "the mapping had rejected (negative stock) fixed",
            highlight=False,
        )

    # --- stock-only sync -------------------------------------------------------------

    def _stock(self, deployment: ops.Deployment, worlds: Mapping[str, ClientWorld]) -> None:
        world = stock_world(worlds)
        if world is None:
            return
        report, problems = run_stock_sync(self.console, deployment, world, run_syncs)
        self.result.stock = {world.client_id: report}
        self.result.problems.extend(problems)

    # --- verification ------------------------------------------------------------------

    def _verify(
        self, worlds: Mapping[str, ClientWorld], modules: Mapping[str, LoadedMapping]
    ) -> None:
        self.console.rule("What the products hold vs what the mappings say")
        table = Table(title_justify="left")
        for column in (
            "client",
            "product holds",
            "as the mapping says",
            "refused + reported",
            "rejected + absent",
            "check",
        ):
            table.add_column(column, justify="right" if column != "client" else "left")
        for client_id, world in worlds.items():
            expectation: Expectation = world.expectation(modules)
            refused: dict[str, str] = {}
            for reports in (self.result.initial, self.result.incremental, self.result.stock):
                if client_id in reports:
                    refused.update(reports[client_id].product_failures)
            check = verify(client_id, expectation, world.held(), refused)
            table.add_row(
                client_id,
                _count(check.held),
                _count(check.matching),
                _count(check.refused_and_reported),
                _count(check.rejected_and_absent),
                "[green]match[/]" if check.ok else f"[red]{len(check.problems)} problem(s)[/]",
            )
            self.result.problems.extend(f"{client_id}: {problem}" for problem in check.problems)
        self.console.print(table)


def run_syncs(
    deployment: ops.Deployment,
    worlds: Mapping[str, ClientWorld],
    sync_type: str,
    console: Console,
) -> dict[str, RunReport]:
    """Start every client's sync at once, follow them with progress bars, read their reports."""
    started = {
        client_id: ops.start_sync(client_id, sync_type, deployment=deployment)
        for client_id in worlds
    }
    with SyncBars(console) as bars, ThreadPoolExecutor(max_workers=len(started)) as pool:
        for client_id in started:
            bars.add(client_id)

        def follow(run: ops.StartedSync) -> ops.SyncOutcome:
            outcome = ops.wait(
                run, bars.update, deployment=deployment, timeout_seconds=SYNC_TIMEOUT_SECONDS
            )
            bars.finish(outcome)
            return outcome

        futures = {client_id: pool.submit(follow, run) for client_id, run in started.items()}
        outcomes = {client_id: future.result() for client_id, future in futures.items()}
    store, history = deployment.run_store(), deployment.run_history()
    return {
        client_id: read_report(store, history, worlds[client_id], outcome)
        for client_id, outcome in outcomes.items()
    }


def read_report(
    store: RunStore, history: RunHistory, world: ClientWorld, outcome: ops.SyncOutcome
) -> RunReport:
    """A sync's outcome plus the mapping's reasons and the product's refusals, from its run data."""
    report = RunReport(world=world, outcome=outcome)
    run_id = outcome.run_id
    if run_id is None or outcome.summary is None:
        return report
    run = history.get(world.client_id, run_id) or {}
    report.duplicates_dropped = int(run.get("duplicates_dropped") or 0)
    for issue in store.iter_lines(validation_report_key(world.client_id, run_id)):
        if issue.get("severity") == "error":
            report.mapping_reasons[f"{issue.get('field')}: {issue.get('reason')}"] += 1
    for line in store.iter_lines(failed_records_key(world.client_id, run_id)):
        if line.get("stage") == "product":
            report.product_failures[str(line.get("id"))] = str(line.get("reason"))
    return report


def initial_table(reports: Iterable[RunReport]) -> Table:
    """Per client: extracted, rejected or skipped by the mapping, loaded, refused, duration."""
    table = Table(
        title="Initial syncs",
        title_justify="left",
        caption="rejected: by the mapping; refused: by the product (reported as failed records); "
        "skipped: left out by a skip rule (not failures); loaded and refused count product "
        "records (a one-to-many mapping makes several of one ERP record)",
        caption_justify="left",
    )
    table.add_column("client", no_wrap=True)
    table.add_column("Siesa API")
    table.add_column("product")
    for column in ("extracted", "rejected", "skipped", "loaded", "refused", "duration"):
        table.add_column(column, justify="right")
    table.add_column("status")
    for report in reports:
        seconds = report.outcome.duration_seconds
        table.add_row(
            report.world.client_id,
            DIALECT_NAMES.get(report.world.spec.siesa_dialect, report.world.spec.siesa_dialect),
            report.world.product_type,
            _count(report.extracted),
            _count(report.rejected),
            _count(report.skipped),
            _count(report.loaded),
            _count(len(report.product_failures)),
            f"{seconds:.1f} s" if seconds is not None else "-",
            styled_status(report.outcome.status),
        )
    return table


def reasons_table(reports: Iterable[RunReport]) -> Table:
    """The mapping's top reasons per client (from each run's validation report)."""
    table = Table(title="Why the mapping rejected records (top reasons)", title_justify="left")
    table.add_column("client", no_wrap=True)
    table.add_column("records", justify="right")
    table.add_column("field: reason")
    for report in reports:
        for reason, count in report.mapping_reasons.most_common(TOP_REASONS):
            table.add_row(report.world.client_id, _count(count), _plain(reason))
    return table


def _registered_line(world: ClientWorld, products: int) -> str:
    where = (
        "inventory and warehouse on separate servers"
        if world.service_endpoints
        else world.product_url
    )
    erp = (
        f"{world.siesa_url} (Connekta: query {CONNEKTA_QUERY}, company 1 of a tenant of 2)"
        if world.connekta
        else world.siesa_url
    )
    return (
        f"registered {world.client_id} ({world.product_type}, {where}): ERP of {products:,} "
        f"products at {erp}, schedule {world.spec.sync_schedule}"
    )


def _closing(console: Console, result: DemoResult) -> None:
    if result.problems:
        console.print(f"[bold red]{len(result.problems)} problem(s):[/]")
        for problem in result.problems[:50]:
            console.print(f"  {problem}", highlight=False, markup=False)
    else:
        console.print(
            "[bold green]Every product holds exactly what its mapping says "
            "(refused records reported, rejected records absent).[/]"
        )
    console.print(
        f"Finished in {result.seconds:.1f} s. Handler logs: {result.log_path}", highlight=False
    )


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _plain(text: str) -> str:
    return text.replace("[", r"\[")
