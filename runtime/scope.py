"""Where a run's skipped records and the records that left the client's scope are reported.

`skipped.ndjson` (transformer): one line per ERP record a `skip when` rule
left out (id, reason, `.map` file and line, where the record was): not a
failure. `left-scope.ndjson` (loader): one line per record that left the
client's scope in the run and what became of it (runtime/leaving.py).
"""

from __future__ import annotations

from runtime.runstore import run_prefix


def skipped_key(client_id: str, run_id: str) -> str:
    """One line per record the mapping skipped."""
    return run_prefix(client_id, run_id) + "skipped.ndjson"


def left_scope_key(client_id: str, run_id: str) -> str:
    """One line per record that left the client's scope in this run, and its outcome."""
    return run_prefix(client_id, run_id) + "left-scope.ndjson"
