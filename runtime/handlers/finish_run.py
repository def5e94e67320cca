"""The run's finish step, after the Map state mapped and loaded its pages part by part.

It adds up the parts (runtime/handlers/parts.py), one at a time: their
reports become the run's own (`validation-report.ndjson`, `rejected.ndjson`,
`skipped.ndjson`, `retried.ndjson`, `failed-records.ndjson`, the same files
a whole-run transform and load write, so `siesa run failed`, replay and
preview read them alike), their counts the run's. Then it does what ends a
run, with the same code as a whole-run load (load_run.py `wrap_up`,
`summarize`): records that left scope, the stock store, the retry state,
the summary with the failed-records alert, run history and the watermark.

With `error` (the Map state stopped on it) it only gathers the parts'
reports, so the records of a page that failed are in the run's
failed-records report, and notes what was loaded; the workflow then alerts
and records the failure. The watermark does not move: the next run extracts
every record of this one again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from runtime.handlers.deps import Deps
from runtime.handlers.events import FinishRequest
from runtime.handlers.failed_records import FailedRecords
from runtime.handlers.load_run import RunLoad, note_loaded, opened_adapter, summarize, wrap_up
from runtime.handlers.parts import Part, parts_of, sent_part_key
from runtime.handlers.stage_run import StageRun
from runtime.observability import LatencyRecorder, logger
from runtime.run_ids import SpooledRunIds
from runtime.runstore import (
    NdjsonWriter,
    RunStore,
    failed_records_key,
    rejected_key,
    retried_key,
    validation_report_key,
)
from runtime.scope import skipped_key
from runtime.stages.load import LoadProgress


@dataclass
class Gathered:
    """The parts added up: what the run's end needs besides the loaded records."""

    pages: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("canonical_count", "rejected_count", "retried_count", "skipped_count"), 0
        )
    )
    mapping_sha256: str | None = None
    bundle_sha256: str | None = None
    parts: int = 0
    ids: SpooledRunIds = field(default_factory=SpooledRunIds)
    """The ids the parts handled, loaded and skipped, set aside by shard: as many as the catalog."""
    unloaded: list[str] = field(default_factory=list)
    kept_lines: list[str] | None = field(default_factory=list)
    """The parts' `sent-records.ndjson` (None: a part wrote none; the stock store reads the pages)."""


def finish(event: FinishRequest, deps: Deps) -> dict[str, Any]:
    """Gather the parts; end the run (its summary), or only report a stopped one ({})."""
    began = time.monotonic()
    client_id, run_id, sync_type = event.client_id, event.run_id, event.sync_type
    deps = deps.for_client("loader", client_id)
    run = StageRun(deps, "loader", client_id, run_id, sync_type)
    store = deps.run_store(event.bucket)
    failed = FailedRecords(store.ndjson_writer(failed_records_key(client_id, run_id)))
    progress = LoadProgress()
    with SpooledRunIds() as ids:
        gathered = gather(store, client_id, run_id, failed, progress, ids)
        return _finished(event, deps, run, store, failed, progress, gathered, began)


def _finished(
    event: FinishRequest,
    deps: Deps,
    run: StageRun,
    store: RunStore,
    failed: FailedRecords,
    progress: LoadProgress,
    gathered: Gathered,
    began: float,
) -> dict[str, Any]:
    """End the run from what was gathered, or note a stopped one."""
    client_id, run_id, sync_type = event.client_id, event.run_id, event.sync_type
    if event.error is not None:
        failed.finish(store, [])
        note_loaded(deps, client_id, run_id, progress)
        logger.warning(
            f"the run stopped on {event.error.Error}: its parts' reports are gathered",
            extra={"metadata": {"parts": gathered.parts, "not_loaded": gathered.unloaded[:20]}},
        )
        return {}
    if gathered.unloaded:  # every iteration succeeded, so this is a bug or lost data: say so
        raise RuntimeError(f"parts {gathered.unloaded[:5]} were mapped but never loaded")
    latency = LatencyRecorder()
    run.resume()
    try:
        with run.recording_errors():
            config = run.client_config(event.product_type)
            deps.history.update(
                client_id,
                run_id,
                **gathered.counts,
                mapping_sha256=gathered.mapping_sha256,
                bundle_sha256=gathered.bundle_sha256,
                transformed_at=deps.now_iso(),
            )
            with opened_adapter(deps, config, latency, progress.processed) as (adapter, *_):
                ended = wrap_up(
                    store,
                    config,
                    event,
                    adapter,
                    RunLoad(
                        progress,
                        failed,
                        pages=gathered.pages,
                        rejected_key=rejected_key(client_id, run_id),
                        kept_lines=gathered.kept_lines,
                        ids=gathered.ids,
                    ),
                    [],
                    gathered.mapping_sha256,
                )
    finally:
        latency.emit(client_id, sync_type)
    return summarize(
        deps,
        store,
        config,
        event,
        ended,
        skipped_count=gathered.counts["skipped_count"],
        bundle_sha256=gathered.bundle_sha256,
        began=began,
    )


def gather(
    store: RunStore,
    client_id: str,
    run_id: str,
    failed: FailedRecords,
    progress: LoadProgress,
    ids: SpooledRunIds,
) -> Gathered:
    """Add the run's parts up into `failed`, `progress`, `ids` and the run's own reports."""
    gathered = Gathered(ids=ids)
    names = {
        "validation": validation_report_key,
        "rejected": rejected_key,
        "skipped": skipped_key,
        "retried": retried_key,
    }
    writers = {kind: store.ndjson_writer(key(client_id, run_id)) for kind, key in names.items()}
    with writers["validation"], writers["rejected"], writers["skipped"], writers["retried"]:
        for part in parts_of(store, client_id, run_id):
            gathered.parts += 1
            if part.transformed is not None:
                _add_transformed(store, client_id, run_id, part, gathered, writers, names)
            _add_loaded(store, client_id, run_id, part, gathered, failed, progress)
    return gathered


def _add_transformed(
    store: RunStore,
    client_id: str,
    run_id: str,
    part: Part,
    gathered: Gathered,
    writers: dict[str, NdjsonWriter],
    names: dict[str, Any],
) -> None:
    transformed = part.transformed or {}
    for name in gathered.counts:
        gathered.counts[name] += int(transformed.get(name, 0))
    gathered.mapping_sha256 = transformed.get("mapping_sha256") or gathered.mapping_sha256
    gathered.bundle_sha256 = transformed.get("bundle_sha256") or gathered.bundle_sha256
    counted = {
        "validation": "report_lines",
        "rejected": "rejected_count",
        "skipped": "skipped_count",
        "retried": "retried_count",
    }
    for kind, key in names.items():
        if not transformed.get(counted[kind]):  # an empty report of a part is not written
            continue
        for line in store.iter_lines(key(client_id, run_id, part.name)):
            writers[kind].write(line)


def _add_loaded(
    store: RunStore,
    client_id: str,
    run_id: str,
    part: Part,
    gathered: Gathered,
    failed: FailedRecords,
    progress: LoadProgress,
) -> None:
    loaded = part.loaded
    if (loaded is None or loaded.get("stopped")) and part.transformed is not None:
        gathered.unloaded.append(part.name)
    if loaded is None:
        return
    progress.canonical_count += int(loaded.get("canonical_count", 0))
    progress.mapping_rejects += int(loaded.get("mapping_rejected", 0))
    progress.success += int(loaded.get("success", 0))
    gathered.ids.add_part(
        loaded.get("handled", []), loaded.get("loaded", []), loaded.get("skipped", [])
    )
    gathered.pages.extend(loaded.get("canonical_pages", []))
    if gathered.kept_lines is not None and not loaded.get("stopped"):
        if loaded.get("sent"):
            gathered.kept_lines.append(sent_part_key(client_id, run_id, part.name))
        else:  # a part loaded by an older loader: the run's pages are read instead
            gathered.kept_lines = None
    if loaded.get("failed"):
        for line in store.iter_lines(failed_records_key(client_id, run_id, part.name)):
            failed.add_complete(line)
