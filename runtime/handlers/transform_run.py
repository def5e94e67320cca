"""One transform run: the run's extracted pages through the transform core, into the run store.

Out go the product-ready pages (every record an ERP record becomes:
several for a one-to-many mapping; each line its canonical record, the
product's record `to_product` made of it, and where the ERP record was:
runtime/stages/transform.py `ready_line`), so the loader loads no mapping;
the validation report (one line per issue),
`rejected.ndjson` (one line per rejected record, or per rejected line of a
one-to-many record, with its reasons and the raw record for replay), which
the loader folds into failed_records, and `skipped.ndjson` (one line per
record a `skip when` rule left out: not a failure; the loader sees which
records left the client's scope from it). After
the extracted pages come the records the client's retry state holds for
this run (retried.py): their raw copies go to `retried.ndjson` and through
the mapping like any other record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from runtime.errors import RunDataError
from runtime.handlers.deps import Deps
from runtime.handlers.events import Extracted, Transformed, ValidationSummary
from runtime.handlers.parts import ids_in_parts, listed_pages, transformed_part_key
from runtime.handlers.retried import due_copies
from runtime.handlers.stage_run import StageRun
from runtime.observability import logger
from runtime.runstore import (
    CANONICAL_PAGES_PER_PART,
    NdjsonWriter,
    PageWriter,
    first_canonical_page,
    part_of_page,
    rejected_key,
    retried_key,
    validation_report_key,
)
from runtime.scope import skipped_key
from runtime.stages.transform import RecordOutcome, Tally, map_records, positioned


def transform(event: Extracted, deps: Deps) -> Transformed:
    """Map the records `event.mode` covers; returns the claim-check for the loader.

    `run`: every extracted page, then the retried records. `page` (a Map
    iteration): the one page `page_key`, its outputs under its part.
    `retried`: after every page, the retried records no page held.
    """
    if event.sync_type == "stock":  # no mapping: stock rows against the records last sent
        from runtime.handlers.stock_transform import transform_stock

        return transform_stock(event, deps)
    client_id, run_id = event.client_id, event.run_id
    deps = deps.for_client("transformer", client_id)
    run = StageRun(deps, "transformer", client_id, run_id, event.sync_type)
    store = deps.run_store(event.bucket)
    part: str | None = None
    if event.mode == "page":
        page = run.key(event.page_key or "")
        pages, part = [page], part_of_page(page)
    elif event.mode == "retried":
        pages, part = [], "retried"
    else:
        pages = run.keys(event.extracted_pages or listed_pages(store, client_id, run_id))
    with run.opened(event.product_type) as config:
        # the client's pinned bundle version, else the current one; verified like any bundle
        loaded = deps.bundles.load_version(
            config.field_mappings_key, product_type=config.product_type, version=config.bundle_pin
        )
        mapping = loaded.mapping
        logger.info(
            "Starting transformation",
            extra={
                "metadata": {
                    "mapping": config.field_mappings_key,
                    "bundle_sha256": loaded.version,
                    "pinned": config.bundle_pin is not None,
                    "pages": len(pages),
                    "part": part,
                    "count": event.count,
                }
            },
        )
        tally = Tally()
        mapping_sha256 = mapping.sha256
        sparse = {"skip_empty": part is not None}
        with (
            store.page_writer(
                client_id,
                run_id,
                "canonical",
                first_canonical_page(part, event.pages_in_run),
            ) as canonical,
            # a page's reports are usually empty: none is written then (its counts say so)
            store.ndjson_writer(validation_report_key(client_id, run_id, part), **sparse) as report,
            store.ndjson_writer(rejected_key(client_id, run_id, part), **sparse) as rejected,
            store.ndjson_writer(retried_key(client_id, run_id, part), **sparse) as retried,
            store.ndjson_writer(skipped_key(client_id, run_id, part), **sparse) as skipped,
        ):
            writers = _Writers(canonical, report, rejected, skipped)
            seen: set[str] = set()
            for page_key in pages:
                for outcome in map_records(
                    mapping, positioned(page_key, store.iter_lines(page_key))
                ):
                    seen.update(writers.write(outcome, tally))
            if event.mode != "page":
                if event.mode == "retried":
                    seen = ids_in_parts(store, client_id, run_id, mapping_sha256)
                copies = due_copies(store, client_id, mapping_sha256, seen)
                for outcome in map_records(
                    mapping, positioned(retried.key, _kept(copies, retried))
                ):
                    writers.write(outcome, tally)
        if part is not None and len(canonical.keys) > CANONICAL_PAGES_PER_PART:
            raise RunDataError(
                f"one extracted page made more than {CANONICAL_PAGES_PER_PART} canonical pages"
            )
    counts = {
        "canonical_count": canonical.count,
        "rejected_count": rejected.count,
        "retried_count": retried.count,
        "skipped_count": skipped.count,
        "mapping_sha256": mapping_sha256,
        "bundle_sha256": loaded.version,
    }
    summary = ValidationSummary(
        count=tally.errors,
        warnings=tally.warnings,
        skipped=tally.skipped,
        by_field=dict(sorted(tally.by_field.items())),
        report_key=report.key,
    )
    if part is None:
        deps.history.update(client_id, run_id, **counts, transformed_at=deps.now_iso())
    else:
        # the run's stages interleave page by page: a page mapped says mapping is under way
        # (`siesa run show`); the finish step writes the run's counts
        deps.history.update(
            client_id, run_id, transformed_at=deps.now_iso()
        )  # the finish step adds the parts up (runtime/handlers/finish_run.py)
        store.put_json(
            transformed_part_key(client_id, run_id, part),
            {
                **counts,
                "report_lines": report.count,
                "validation_errors": summary.model_dump(),
                "ids": sorted(seen),
            },
        )
    logger.info(
        "Transformation finished",
        extra={
            "metadata": {
                "canonical": canonical.count,
                "rejected": rejected.count,
                "retried": retried.count,
                "skipped": skipped.count,
                "errors": tally.errors,
                "warnings": tally.warnings,
                "by_field": summary.by_field,
            }
        },
    )
    if rejected.count:
        logger.warning(
            f"the mapping rejected {rejected.count} record(s)",
            extra={"metadata": {"by_field": summary.by_field, "report_key": report.key}},
        )
    return Transformed(
        **event.model_dump(exclude={"count"}),
        canonical_pages=canonical.close(),
        count=canonical.count,
        rejected_count=rejected.count,
        rejected_key=rejected.key,
        transformation_timestamp=deps.now_iso(),
        validation_errors=summary,
        retried_key=retried.key if retried.count else None,
        retried_count=retried.count,
        skipped_count=skipped.count,
        skipped_key=skipped.key,
        mapping_sha256=mapping_sha256,
        bundle_sha256=loaded.version,
    )


def _kept(records: Iterable[dict[str, Any]], copies: NdjsonWriter) -> Iterator[dict[str, Any]]:
    """Each record, after writing its raw copy to `copies`."""
    for record in records:
        copies.write(record)
        yield record


class _Writers:
    """Where what one record became goes: canonical pages, report, rejects, skips."""

    def __init__(
        self,
        canonical: PageWriter,
        report: NdjsonWriter,
        rejected: NdjsonWriter,
        skipped: NdjsonWriter,
    ) -> None:
        self.canonical, self.report, self.rejected, self.skipped = (
            canonical,
            report,
            rejected,
            skipped,
        )

    def write(self, outcome: RecordOutcome, tally: Tally) -> list[str]:
        """Write what one record became; returns every id it accounts for."""
        for line in outcome.report:
            self.report.write(line)
        for line in outcome.ready:
            self.canonical.write(line)
        for rejection in outcome.rejections:
            self.rejected.write(rejection)
        if outcome.skip is not None:
            self.skipped.write(outcome.skip)
        tally.add(outcome)
        return outcome.ids
