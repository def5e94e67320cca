"""The ERP's request budget kept in this process, where no shared budget is given.

Siesa allows 100 requests per minute per client; a warm container may run the
same client again, so the window outlives one source. Keyed by client id.
The handlers on AWS and on the local engine pass the shared budget of the
client instead (runtime/budgets.py): this one serves the CLI and tests.
"""

from __future__ import annotations

import threading

from runtime import settings
from runtime.config import DEFAULT_SIESA_REQUESTS_PER_MINUTE, ClientConfig
from runtime.http.budget import SlidingWindowBudget

SIESA_REQUESTS_PER_MINUTE = DEFAULT_SIESA_REQUESTS_PER_MINUTE

SIESA_BUDGET = SlidingWindowBudget(SIESA_REQUESTS_PER_MINUTE, 60.0)
"""The budget of every client at the ERP's own limit and window."""

_lock = threading.Lock()
_other_budgets: dict[tuple[int, float], SlidingWindowBudget] = {}


def in_process_budget(config: ClientConfig) -> SlidingWindowBudget:
    """The process's ERP budget for the client: SIESA_BUDGET, or one per other limit and window."""
    limit = config.siesa_requests_per_minute
    window = float(settings.rate_window_seconds())
    if (limit, window) == (SIESA_REQUESTS_PER_MINUTE, 60.0):
        return SIESA_BUDGET
    with _lock:
        return _other_budgets.setdefault((limit, window), SlidingWindowBudget(limit, window))
