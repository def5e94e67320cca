"""ERP clients: one `SiesaSource` per dialect, chosen by the client's `siesa_dialect`."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from runtime.config import ClientConfig, SiesaCredentials
from runtime.errors import InvalidClientConfig
from runtime.http import SIESA_RETRY_POLICY, LatencyHook, RequestBudget, RetryPolicy
from runtime.http.retry import Sleeper
from runtime.siesa.base import SiesaSource
from runtime.siesa.connekta import ConnektaSiesaSource
from runtime.siesa.rest import RestSiesaSource

SourceFactory = Callable[..., SiesaSource]

# Dialect name (ClientConfig.siesa_dialect) -> source class.
DIALECTS: dict[str, SourceFactory] = {"rest": RestSiesaSource, "connekta": ConnektaSiesaSource}


def make_source(
    config: ClientConfig,
    credentials: SiesaCredentials,
    *,
    http: httpx.Client | None = None,
    budget: RequestBudget | None = None,
    policy: RetryPolicy = SIESA_RETRY_POLICY,
    sleep: Sleeper = time.sleep,
    on_latency: LatencyHook | None = None,
    page_size: int | None = None,
) -> SiesaSource:
    """The source for the client's ERP dialect.

    `http` is an injected client (the caller closes it); `budget` is the
    client's shared request budget (the handlers pass the budgets table's;
    without one, the process's own: runtime/siesa/budget.py); `sleep`,
    `policy` and `page_size` (records per request, the dialect's maximum by
    default) exist for tests and tuning; `on_latency` receives every call.
    """
    factory = DIALECTS.get(config.siesa_dialect)
    if factory is None:
        raise InvalidClientConfig(
            f"siesa_dialect {config.siesa_dialect!r} of client {config.client_id} is not supported "
            f"yet; supported: {', '.join(sorted(DIALECTS))}"
        )
    sizing = {} if page_size is None else {"page_size": page_size}
    return factory(
        config,
        credentials,
        http=http,
        budget=budget,
        policy=policy,
        sleep=sleep,
        on_latency=on_latency,
        **sizing,
    )


__all__ = ["DIALECTS", "ConnektaSiesaSource", "RestSiesaSource", "SiesaSource", "make_source"]
