"""Every environment variable the runtime reads, with its default, in one place.

Values are read at call time, never at import, so the local engine and tests
can point a warm process at other tables or buckets; an explicit argument
always beats the environment (the Powertools convention).
"""

from __future__ import annotations

import os

from runtime.errors import ConfigError

# --- names of the environment variables -------------------------------------------

CLIENTS_TABLE_ENV = "CLIENTS_TABLE"
RUNS_TABLE_ENV = "RUNS_TABLE"
CONFIG_BUCKET_ENV = "CONFIG_BUCKET"
BUDGETS_TABLE_ENV = "BUDGETS_TABLE"
DEDUP_TABLE_ENV = "DEDUP_TABLE"
EXTRACT_MAX_PAGES_ENV = "EXTRACT_MAX_PAGES"
EXTRACT_RESERVE_MS_ENV = "EXTRACT_RESERVE_MS"
INLINE_MAX_PAGES_ENV = "INLINE_MAX_PAGES"
MAX_PAGE_CONCURRENCY_ENV = "MAX_PAGE_CONCURRENCY"
RATE_WINDOW_ENV = "RATE_WINDOW_SECONDS"
RUN_DATA_RETENTION_DAYS_ENV = "RUN_DATA_RETENTION_DAYS"
PAUSE_FRESHNESS_ENV = "PAUSE_FRESHNESS_MS"
MAPPINGS_PREFIX_ENV = "MAPPINGS_PREFIX"
MAPPINGS_SIGNING_KEY_ENV = "MAPPINGS_SIGNING_KEY_ARN"
ALERTS_TOPIC_ARN_ENV = "ALERTS_TOPIC_ARN"
STATE_MACHINE_ARN_ENV = "STATE_MACHINE_ARN"
ENVIRONMENT_ENV = "ENVIRONMENT"
BATCH_SIZE_ENV = "BATCH_SIZE"
RUN_PAGE_SIZE_ENV = "RUN_PAGE_SIZE"
SECRETS_TTL_ENV = "SECRETS_TTL_SECONDS"
MAX_RESPONSE_BYTES_ENV = "MAX_RESPONSE_BYTES"
REQUEST_DEADLINE_ENV = "REQUEST_DEADLINE_SECONDS"
LOG_LEVEL_ENV = "LOG_LEVEL"
AWS_REGION_ENV = "AWS_REGION"
AWS_DEFAULT_REGION_ENV = "AWS_DEFAULT_REGION"
SERVICE_NAME_ENV = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
METRICS_DISABLED_ENV = "POWERTOOLS_METRICS_DISABLED"
TENANT_ROLE_ENV_SUFFIX = "_TENANT_ROLE_ARN"
"""`EXTRACTOR_TENANT_ROLE_ARN`, ...: one name per stage, so the local engine, which runs the
three handlers in one process, can hold all three at once (each function on AWS gets its own)."""

# --- defaults ------------------------------------------------------------------------

DEFAULT_CLIENTS_TABLE = "siesa-integration-clients"
DEFAULT_RUNS_TABLE = "siesa-integration-runs"
DEFAULT_CONFIG_BUCKET = "siesa-integration-config"
DEFAULT_MAPPINGS_PREFIX = "mappings/"
DEFAULT_ALERTS_TOPIC_NAME = "siesa-integration-alerts"
DEFAULT_STATE_MACHINE_NAME = "siesa-integration-workflow"
DEFAULT_ENVIRONMENT = "test"
DEFAULT_RATE_WINDOW_SECONDS = 60
"""The window of every per-minute budget (runtime/budgets.py); only a test shortens it."""
DEFAULT_PAUSE_FRESHNESS_MS = 250
"""How stale a process's knowledge of another worker's 429 pause may be (runtime/pause_cache.py)."""
DEFAULT_BATCH_SIZE = 100
MAX_ITEMS_PER_REQUEST = 100
"""The product APIs refuse bulk bodies of more items: the loader's batches and requests stop here."""
DEFAULT_RUN_PAGE_SIZE = 1000
DEFAULT_EXTRACT_RESERVE_MS = 120_000
"""Time an extraction keeps in hand: with less left, it hands back a cursor. One more ERP page
with its retries and 429 waits, then the open page and the dedup index written, fit in it."""
DEFAULT_INLINE_MAX_PAGES = 40
"""Extracted pages up to which a run goes through the inline Map state (inline_max_pages)."""
DEFAULT_SECRETS_TTL_SECONDS = 300
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""A page of 1,000 ERP records is about 1 MB; 16 MB leaves room and still bounds memory."""
DEFAULT_REQUEST_DEADLINE_SECONDS = 60
"""One request, from connecting to its body's last byte; per-read timeouts alone let a server drip."""
DEFAULT_LOG_LEVEL = "INFO"
DEFAULT_REGION = "us-east-1"
DEFAULT_SERVICE_NAME = "siesa-integration"
DEFAULT_METRICS_NAMESPACE = "SiesaIntegration"

ENVIRONMENTS = ("test", "prod", "local")


def _text(explicit: str | None, env_name: str, default: str) -> str:
    """The explicit value, else the non-empty environment value, else the default."""
    if explicit:
        return explicit
    return os.environ.get(env_name) or default


def _int(explicit: int | None, env_name: str, default: int, low: int, high: int) -> int:
    """An integer setting within [low, high]; a bad value is a ConfigError naming the variable."""
    if explicit is not None:
        value = explicit
    else:
        raw = os.environ.get(env_name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{env_name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{env_name} must be between {low} and {high}, got {value}")
    return value


def clients_table(explicit: str | None = None) -> str:
    """DynamoDB table of client configs."""
    return _text(explicit, CLIENTS_TABLE_ENV, DEFAULT_CLIENTS_TABLE)


def runs_table(explicit: str | None = None) -> str:
    """DynamoDB table of run history."""
    return _text(explicit, RUNS_TABLE_ENV, DEFAULT_RUNS_TABLE)


def config_bucket(explicit: str | None = None) -> str:
    """S3 bucket for mapping bundles and run data."""
    return _text(explicit, CONFIG_BUCKET_ENV, DEFAULT_CONFIG_BUCKET)


def budgets_table(explicit: str | None = None) -> str | None:
    """DynamoDB table of the clients' shared request budgets; None: budgets kept in-process.

    Without it (unit tests, the CLI) each process keeps its own budgets
    (runtime/http/budget.py); the stack sets it for the extractor and the loader.
    """
    return explicit or os.environ.get(BUDGETS_TABLE_ENV) or None


def dedup_table(explicit: str | None = None) -> str | None:
    """The extractor's dedup index table; None: an in-memory index, and no continuation."""
    return explicit or os.environ.get(DEDUP_TABLE_ENV) or None


def extract_max_pages(explicit: int | None = None) -> int:
    """ERP pages one extraction invocation reads at most (0: as many as its time allows).

    Tests set it to make a tiny catalog take several invocations.
    """
    return _int(explicit, EXTRACT_MAX_PAGES_ENV, 0, 0, 1_000_000)


def extract_reserve_ms(explicit: int | None = None) -> int:
    """Milliseconds an extraction keeps in hand before its timeout (then it hands back a cursor)."""
    return _int(explicit, EXTRACT_RESERVE_MS_ENV, DEFAULT_EXTRACT_RESERVE_MS, 0, 900_000)


def inline_max_pages(explicit: int | None = None) -> int:
    """Runs of up to this many extracted pages go through the inline Map state, larger ones
    through the distributed one (40: an inline iteration costs the execution's history about
    ten events, and an execution holds 25,000). Tests lower it to exercise the distributed Map."""
    return _int(explicit, INLINE_MAX_PAGES_ENV, DEFAULT_INLINE_MAX_PAGES, 0, 1000)


def max_page_concurrency(explicit: int | None = None) -> int:
    """Pages the Map state maps and loads at once, at most (64: no cap below the client's
    `product_concurrency`). The local engine with killable Lambda children sets 1: it forks each
    child from a process whose threads serve moto, and a fork while another invocation's request
    holds a lock there leaves the child waiting on it forever; one page at a time, each page's
    loader then takes the client's whole concurrency."""
    return _int(explicit, MAX_PAGE_CONCURRENCY_ENV, 64, 1, 64)


def rate_window_seconds(explicit: int | None = None) -> int:
    """Seconds a per-minute budget counts its requests over (60; 1..3600 for tests)."""
    return _int(explicit, RATE_WINDOW_ENV, DEFAULT_RATE_WINDOW_SECONDS, 1, 3600)


def run_data_retention_days(explicit: int | None = None) -> int:
    """Days run data under `runs/` is kept (the template's RunDataRetentionDays, 30): a client's
    state kept there is written again when it is half that old, so it never expires."""
    return _int(explicit, RUN_DATA_RETENTION_DAYS_ENV, 30, 1, 3650)


def pause_freshness_ms(explicit: int | None = None) -> int:
    """Milliseconds an uncapped budget trusts its last read of a client's pause (0: every request)."""
    return _int(explicit, PAUSE_FRESHNESS_ENV, DEFAULT_PAUSE_FRESHNESS_MS, 0, 60_000)


def mappings_prefix(explicit: str | None = None) -> str:
    """Key prefix of the compiled mapping bundle, always ending in '/'."""
    prefix = _text(explicit, MAPPINGS_PREFIX_ENV, DEFAULT_MAPPINGS_PREFIX).strip("/")
    return f"{prefix}/" if prefix else ""


def mappings_signing_key(explicit: str | None = None) -> str | None:
    """The KMS key whose signature a mapping bundle must carry; None when not configured.

    Without one, every bundle is refused (runtime/bundle_trust.py): there is no unsigned mode.
    """
    return explicit or os.environ.get(MAPPINGS_SIGNING_KEY_ENV) or None


def alerts_topic_arn(explicit: str | None = None) -> str | None:
    """SNS topic for alerts; None when not configured."""
    return explicit or os.environ.get(ALERTS_TOPIC_ARN_ENV) or None


def state_machine_arn(explicit: str | None = None) -> str | None:
    """The workflow's ARN; None when not configured."""
    return explicit or os.environ.get(STATE_MACHINE_ARN_ENV) or None


def tenant_role_env(stage: str) -> str:
    """The variable naming a stage's tenant role: `EXTRACTOR_TENANT_ROLE_ARN` for `extractor`."""
    return stage.upper() + TENANT_ROLE_ENV_SUFFIX


def tenant_role_arn(stage: str, explicit: str | None = None) -> str | None:
    """The role a stage assumes, tagged client_id, for each client's data; None when not configured.

    Without one a handler on AWS refuses to run (runtime/tenant_session.py).
    """
    return explicit or os.environ.get(tenant_role_env(stage)) or None


def environment(explicit: str | None = None) -> str:
    """The Environment metric dimension (`test`, `prod` or `local`)."""
    value = _text(explicit, ENVIRONMENT_ENV, DEFAULT_ENVIRONMENT)
    if value not in ENVIRONMENTS:
        raise ConfigError(
            f"{ENVIRONMENT_ENV} must be one of {', '.join(ENVIRONMENTS)}, got {value!r}"
        )
    return value


def batch_size(explicit: int | None = None) -> int:
    """Records per product API call (1..100)."""
    return _int(explicit, BATCH_SIZE_ENV, DEFAULT_BATCH_SIZE, 1, MAX_ITEMS_PER_REQUEST)


def run_page_size(explicit: int | None = None) -> int:
    """Records per NDJSON page in the run store."""
    return _int(explicit, RUN_PAGE_SIZE_ENV, DEFAULT_RUN_PAGE_SIZE, 1, 100_000)


def secrets_ttl_seconds(explicit: int | None = None) -> int:
    """How long a container keeps a secret before asking Secrets Manager again."""
    return _int(explicit, SECRETS_TTL_ENV, DEFAULT_SECRETS_TTL_SECONDS, 0, 3600)


def max_response_bytes(explicit: int | None = None) -> int:
    """The most bytes one HTTP response body may have before it is cut off (1 KB..1 GB)."""
    return _int(
        explicit, MAX_RESPONSE_BYTES_ENV, DEFAULT_MAX_RESPONSE_BYTES, 1024, 1024 * 1024 * 1024
    )


def request_deadline_seconds(explicit: int | None = None) -> int:
    """The longest one HTTP request may take in all, headers and body (1..900 s)."""
    return _int(explicit, REQUEST_DEADLINE_ENV, DEFAULT_REQUEST_DEADLINE_SECONDS, 1, 900)


def log_level(explicit: str | None = None) -> str:
    """Log level name (INFO unless LOG_LEVEL says otherwise)."""
    return _text(explicit, LOG_LEVEL_ENV, DEFAULT_LOG_LEVEL).upper()


def aws_region(explicit: str | None = None) -> str:
    """AWS region: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1."""
    return (
        explicit
        or os.environ.get(AWS_REGION_ENV)
        or _text(None, AWS_DEFAULT_REGION_ENV, DEFAULT_REGION)
    )


def service_name(explicit: str | None = None) -> str:
    """The `service` of logs and metrics."""
    return _text(explicit, SERVICE_NAME_ENV, DEFAULT_SERVICE_NAME)


def metrics_namespace(explicit: str | None = None) -> str:
    """The CloudWatch namespace of our EMF metrics."""
    return _text(explicit, METRICS_NAMESPACE_ENV, DEFAULT_METRICS_NAMESPACE)
