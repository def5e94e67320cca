"""The transformer of a stock-only sync: stock rows -> the changed product records, whole.

No mapping runs: each extracted page of stock rows is grouped by ERP item
(runtime/stages/stock.py), the product records the item became are looked
up in the client's store of records last sent (runtime/stock_store.py: the
items are set aside by shard first, so each shard is read once per run), and every record whose quantity changed goes to
the canonical pages as a product-ready line: the whole record with the new
quantity. Rejections (a quantity that is not a number, negative stock) go to
`rejected.ndjson` as the mapping's do; the validation report and the skipped
records are written empty, so the loader reads the same claim-check.
"""

from __future__ import annotations

from runtime.handlers.deps import Deps
from runtime.handlers.events import Extracted, Transformed, ValidationSummary
from runtime.handlers.stage_run import StageRun
from runtime.observability import logger
from runtime.runstore import rejected_key, validation_report_key
from runtime.scope import skipped_key
from runtime.stages.stock import (
    StockTally,
    check_stock_sync,
    quantity_field,
    stock_groups,
    stock_outcome,
)
from runtime.stages.transform import positioned
from runtime.stock_store import ShardReader, ShardSpool


def transform_stock(event: Extracted, deps: Deps) -> Transformed:
    """Find the records whose stock changed; returns the claim-check for the loader."""
    client_id, run_id = event.client_id, event.run_id
    deps = deps.for_client("transformer", client_id)
    run = StageRun(deps, "transformer", client_id, run_id, event.sync_type)
    pages = run.keys(event.extracted_pages)
    tally = StockTally()
    with run.opened(event.product_type) as config:
        check_stock_sync(config)
        field_path = quantity_field(config.product_type) or ()
        settings = config.stock_settings
        store = deps.run_store(event.bucket)
        reader = ShardReader(store, client_id)
        with (
            store.page_writer(client_id, run_id, "canonical") as canonical,
            store.ndjson_writer(validation_report_key(client_id, run_id)) as report,
            store.ndjson_writer(rejected_key(client_id, run_id)) as rejected,
            store.ndjson_writer(skipped_key(client_id, run_id)) as skipped,
        ):
            read = (list(positioned(key, store.iter_lines(key))) for key in pages)
            with ShardSpool(reader.shards) as spool:  # each shard of the store read once per run
                for groups in stock_groups(read):
                    for erp_key, rows in groups:
                        spool.add(erp_key, rows)
                for shard, items in spool.by_shard():
                    found = reader.shard(shard)
                    for erp_key, rows in items:
                        outcome = stock_outcome(
                            erp_key, rows, found.get(erp_key, []), settings, field_path, tally
                        )
                        for line in outcome.ready:
                            canonical.write(line)
                        for line in outcome.rejections:
                            rejected.write(line)
    now = deps.now_iso()
    deps.history.update(
        client_id,
        run_id,
        canonical_count=canonical.count,
        rejected_count=rejected.count,
        stock_rows=tally.rows,
        stock_unchanged=tally.unchanged,
        stock_not_held=tally.not_held,
        transformed_at=now,
    )
    logger.info(
        "Stock compared",
        extra={
            "metadata": {
                "rows": tally.rows,
                "changed": tally.changed,
                "unchanged": tally.unchanged,
                "not_held": tally.not_held,
                "no_row": tally.no_row,
                "rejected": tally.rejected,
                "shard_reads": reader.reads,
            }
        },
    )
    return Transformed(
        **event.model_dump(exclude={"count"}),
        canonical_pages=canonical.close(),
        count=canonical.count,
        rejected_count=rejected.count,
        rejected_key=rejected.key,
        transformation_timestamp=now,
        validation_errors=ValidationSummary(
            count=tally.rejected,
            warnings=0,
            by_field=dict(sorted(tally.by_reason.items())),
            report_key=report.key,
        ),
        skipped_key=skipped.key,
    )
