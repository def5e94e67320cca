"""Records leaving a client's scope: which records the product holds live, and which left.

The platform keeps, per client, the ids it loaded into the product and that
are still live (`runs/{client_id}/live-ids.json`, written by the loader
beside the retry state, with the same newer-run guard). A live record LEAVES
SCOPE when a later run

- has it skipped by the mapping (a `skip when` rule: a skip line with its id), or
- is a full sync (`initial`) whose extract does not hold it at all (deleted
  or deactivated in the ERP). Incremental syncs see only changed records, so
  they cannot see a deletion: deletions are found by the next full sync.

The client's `left_scope` choice says what such a record becomes (the loader
does it through the adapter: runtime/handlers/leaving.py). An action that
fails keeps the id `pending` and every later run tries it again, until it is
done or the record comes back. A full sync whose extract lacks more than
MAX_ABSENT_SHARE of the live records is taken for a broken extract: those
records are reported, nothing is changed.

Reports of a run: `skipped.ndjson` (transformer, one line per skipped record)
and `left-scope.ndjson` (loader, one line per record that left scope, with
what became of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from runtime.client_state import store_unless_newer
from runtime.config import validate_client_id
from runtime.errors import RunDataError
from runtime.runstore import RunStore, part_prefix, run_prefix

LIVE_NAME = "live-ids.json"
MAX_ABSENT_SHARE = 0.5
SKIPPED = "skipped by the mapping"
ABSENT = "absent from the ERP's full extract"


def skipped_key(client_id: str, run_id: str, part: str | None = None) -> str:
    """One line per record the mapping skipped."""
    return part_prefix(client_id, run_id, part) + "skipped.ndjson"


def left_scope_key(client_id: str, run_id: str) -> str:
    """One line per record that left the client's scope in this run, and its outcome."""
    return run_prefix(client_id, run_id) + "left-scope.ndjson"


def live_key(client_id: str) -> str:
    """`runs/{client_id}/live-ids.json`."""
    return f"runs/{validate_client_id(client_id)}/{LIVE_NAME}"


@dataclass
class LiveState:
    """The ids the product holds live for a client, and those whose leaving action is pending."""

    client_id: str
    run_id: str | None = None
    ids: set[str] = field(default_factory=set)
    pending: dict[str, str] = field(default_factory=dict)
    """Left scope, action not done yet: id -> why it left."""

    def to_json(self) -> dict[str, object]:
        """The state as stored."""
        return {
            "client_id": self.client_id,
            "run_id": self.run_id,
            "ids": sorted(self.ids),
            "pending": dict(sorted(self.pending.items())),
        }


@dataclass(frozen=True)
class Leaving:
    """The records that leave scope in a run (id -> why), and those held back as a broken extract."""

    records: dict[str, str]
    held_back: int = 0


def leaving(
    state: LiveState, *, full_sync: bool, seen: Iterable[str], skipped: Iterable[str]
) -> Leaving:
    """Which live records leave scope in a run that saw `seen` ids and skipped `skipped` (pure)."""
    seen_ids, skipped_ids = set(seen), set(skipped)
    records = {rid: why for rid, why in state.pending.items() if rid not in seen_ids - skipped_ids}
    records.update({rid: SKIPPED for rid in state.ids & skipped_ids})
    if not full_sync:
        return Leaving(records)
    absent = state.ids - seen_ids - skipped_ids
    if state.ids and len(absent) > MAX_ABSENT_SHARE * len(state.ids):
        return Leaving(records, held_back=len(absent))
    records.update({rid: ABSENT for rid in absent})
    return Leaving(records)


def next_live(
    state: LiveState,
    *,
    run_id: str,
    loaded: Iterable[str],
    left: Iterable[str],
    pending: Mapping[str, str],
) -> LiveState:
    """After a run: drop what left scope, keep what is pending, add what it loaded (pure)."""
    loaded_ids = set(loaded)
    ids = (state.ids - set(left) - set(pending)) | loaded_ids
    kept = {rid: why for rid, why in pending.items() if rid not in loaded_ids}
    return LiveState(state.client_id, run_id, ids, kept)


def read_live(store: RunStore, client_id: str) -> LiveState:
    """The client's live ids; an empty state when there is none yet."""
    document = store.get_json_if_present(live_key(client_id))
    if document is None:
        return LiveState(client_id)
    if not isinstance(document, dict) or not isinstance(document.get("ids"), list):
        raise RunDataError(f"s3://{store.bucket}/{live_key(client_id)} is not a live-ids state")
    pending = document.get("pending")
    run_id = document.get("run_id")
    return LiveState(
        client_id,
        run_id if isinstance(run_id, str) else None,
        {str(rid) for rid in document["ids"]},
        {str(k): str(v) for k, v in pending.items()} if isinstance(pending, dict) else {},
    )


def write_live(store: RunStore, state: LiveState) -> bool:
    """Store the state unless a newer run's state is there already; False when it was."""
    current = read_live(store, state.client_id)
    return store_unless_newer(
        store,
        live_key(state.client_id),
        stored_run_id=current.run_id,
        run_id=state.run_id,
        document=state.to_json(),
    )
