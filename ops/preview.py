"""`siesa map preview FILE --client ID [--run RUN_ID]`: a shadow run of a changed mapping.

The engineer's mapping (compiled from their own `.map` file by the caller,
never a bundle from the bucket) goes through the transform stage's own core
(runtime/stages/transform.py `map_records`) over the ERP records a past run
of the client stored (its `extracted/` pages and `retried.ndjson`, at the
positions the run read them from), and what it makes is compared with what
that run's transformer wrote: its product-ready pages, `rejected.ndjson` and
`skipped.ndjson` (preview_diff.py). It reads run history and run data only:
no Siesa call, no product call, nothing written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from contract import jsontext
from contract.loaded import LoadedMapping
from ops.clients import get_config
from ops.deployment import Deployment, resolve, translate_aws_errors
from ops.errors import InputError
from ops.preview_diff import SCHEMA_VERSION, Comparison, Outputs, compare
from ops.run_evidence import newest_finished_run, page_keys
from runtime.errors import InvalidEvent, RunDataError
from runtime.runstore import (
    RunStore,
    rejected_key,
    retried_key,
    run_prefix,
    validate_run_id,
)
from runtime.scope import skipped_key
from runtime.stages.transform import RecordMapping, map_records, positioned


@dataclass
class PreviewReport:
    """Which run was read, which mapping ran, and what it would change."""

    client_id: str
    run_id: str
    run_status: str | None
    run_mapping_sha256: str | None
    mapping: str
    file: str
    mapping_sha256: str
    comparison: Comparison
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when nothing changes, 3 when something does."""
        return self.comparison.exit_code

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json` (`schema_version` changes only when a key does)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "client_id": self.client_id,
            "run": {
                "run_id": self.run_id,
                "status": self.run_status,
                "mapping_sha256": self.run_mapping_sha256,
            },
            "mapping": {"name": self.mapping, "file": self.file, "sha256": self.mapping_sha256},
            **self.comparison.to_json(),
            "notes": list(self.notes),
        }


def find_run(deployment: Deployment, client_id: str, run_id: str | None) -> dict[str, Any]:
    """The run-history item of `run_id`, or of the client's newest finished run."""
    if run_id is not None:
        try:
            run_id = validate_run_id(run_id)
        except InvalidEvent as exc:
            raise InputError(f"no run {run_id!r} of client {client_id}: {exc}") from None
        item = deployment.run_history().get(client_id, run_id)
        if item is None:
            raise InputError(
                f"no run {run_id} of client {client_id} "
                f"(its runs: `siesa status --client {client_id}`)"
            )
        return item
    return newest_finished_run(deployment, client_id)


@dataclass(frozen=True)
class _RunData:
    """Where one run's transform input and output are."""

    extracted: list[str]
    canonical: list[str]
    retried: str | None


def _run_data(store: RunStore, client_id: str, run_id: str, status: Any) -> _RunData:
    """The run's pages; InputError when its transformer did not finish."""
    prefix = run_prefix(client_id, run_id)
    keys = page_keys(store, prefix)
    if rejected_key(client_id, run_id) not in keys:
        raise InputError(
            f"run {run_id} of client {client_id} ({status or 'no status'}) has no transform "
            "output to compare with (it stopped before transforming); pick a finished run"
        )
    return _RunData(
        extracted=[key for key in keys if key.startswith(prefix + "extracted/")],
        canonical=[key for key in keys if key.startswith(prefix + "canonical/")],
        retried=retried_key(client_id, run_id) if retried_key(client_id, run_id) in keys else None,
    )


def _lines(store: RunStore, key: str) -> list[dict[str, Any]]:
    """An NDJSON report's object lines; none when it is missing (a run from before it existed)."""
    try:
        return [line for line in store.iter_lines(key) if isinstance(line, dict)]
    except RunDataError:
        return []


def run_outputs(store: RunStore, client_id: str, run_id: str, data: _RunData) -> Outputs:
    """What the run's transformer wrote, by the position of each ERP record."""
    outputs = Outputs()
    for key in data.canonical:
        outputs.ready(line for line in store.iter_lines(key) if isinstance(line, dict))
    outputs.rejected(_lines(store, rejected_key(client_id, run_id)))
    outputs.skipped(_lines(store, skipped_key(client_id, run_id)))
    return outputs


def mapped_outputs(mapping: LoadedMapping, store: RunStore, data: _RunData) -> Outputs:
    """What `mapping` makes of the run's input, by position, as the run store would hold it."""
    outputs = Outputs()
    for key in [*data.extracted, *([data.retried] if data.retried else [])]:
        mapped(mapping, positioned(key, store.iter_lines(key)), outputs)
    return outputs


def mapped(
    mapping: RecordMapping, records: Iterable[tuple[str, Any]], outputs: Outputs | None = None
) -> Outputs:
    """(position, ERP record) pairs through the transform core, each line through JSON as the
    run store would write it, added to `outputs` (a new one when None)."""
    found = outputs if outputs is not None else Outputs()
    for outcome in map_records(mapping, records):
        found.ready(_stored(line) for line in outcome.ready)
        found.rejected(_stored(line) for line in outcome.rejections)
        if outcome.skip is not None:
            found.skipped([_stored(outcome.skip)])
    return found


def _stored(line: dict[str, Any]) -> dict[str, Any]:
    stored: dict[str, Any] = jsontext.loads(jsontext.dumps(line))
    return stored


@translate_aws_errors
def preview(
    mapping: LoadedMapping,
    file: str,
    client_id: str,
    run_id: str | None = None,
    *,
    deployment: Deployment | None = None,
) -> PreviewReport:
    """Apply `mapping` to a past run's ERP records and compare with what that run produced."""
    target = resolve(deployment)
    config = get_config(target, client_id)
    if mapping.product_type != config.product_type:
        raise InputError(
            f"{file} maps to {mapping.product_type}, but client {config.client_id} "
            f"runs {config.product_type}"
        )
    item = find_run(target, config.client_id, run_id)
    found_id, status = str(item["run_id"]), item.get("status")
    store = target.run_store()
    data = _run_data(store, config.client_id, found_id, status)
    before = run_outputs(store, config.client_id, found_id, data)
    after = mapped_outputs(mapping, store, data)
    report = PreviewReport(
        client_id=config.client_id,
        run_id=found_id,
        run_status=status,
        run_mapping_sha256=item.get("mapping_sha256"),
        mapping=mapping.name,
        file=file,
        mapping_sha256=mapping.sha256,
        comparison=compare(before, after),
    )
    if mapping.name != config.field_mappings_key:
        report.notes.append(
            f"client {config.client_id} runs mapping {config.field_mappings_key}; "
            f"{file} is mapping {mapping.name}"
        )
    if not data.extracted:
        report.notes.append(f"run {found_id} extracted no record (an incremental with no change)")
    return report
