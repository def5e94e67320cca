"""Shared HTTP plumbing: client factory, auth, Retry-After, retry policies, budget, latency.

Every API client of the runtime is built from these parts; see `api.JsonApi`.
"""

from __future__ import annotations

from runtime.http.api import TRANSIENT_STATUSES, Failure, JsonApi, error_text
from runtime.http.budget import (
    BudgetGate,
    BudgetWaitTooLong,
    RequestBudget,
    SlidingWindowBudget,
)
from runtime.http.connection import (
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    HeaderAuth,
    MultiHeaderAuth,
    api_key_auth,
    bearer_auth,
    make_http_client,
)
from runtime.http.latency import ApiCall, LatencyHook, add_latency_listener, report_call
from runtime.http.retry import (
    PRODUCT_RETRY_POLICY,
    SIESA_RETRY_POLICY,
    HttpFailure,
    RetryPolicy,
    is_retryable,
    parse_retry_after,
    status_of,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "PRODUCT_RETRY_POLICY",
    "SIESA_RETRY_POLICY",
    "TRANSIENT_STATUSES",
    "ApiCall",
    "BudgetGate",
    "BudgetWaitTooLong",
    "Failure",
    "HeaderAuth",
    "HttpFailure",
    "JsonApi",
    "LatencyHook",
    "MultiHeaderAuth",
    "RequestBudget",
    "RetryPolicy",
    "SlidingWindowBudget",
    "add_latency_listener",
    "api_key_auth",
    "bearer_auth",
    "error_text",
    "is_retryable",
    "make_http_client",
    "parse_retry_after",
    "report_call",
    "status_of",
]
