"""The ERP's request budget, shared by every Siesa source in the process.

Siesa allows 100 requests per minute per client; a warm container may run the
same client again, so the window outlives one source. Keyed by client id.
"""

from __future__ import annotations

from runtime.http.budget import SlidingWindowBudget

SIESA_REQUESTS_PER_MINUTE = 100

SIESA_BUDGET = SlidingWindowBudget(SIESA_REQUESTS_PER_MINUTE, 60.0)
