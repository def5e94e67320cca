"""Every error the runtime raises, classified by what the caller must do.

The class name is the error name Step Functions sees (`Retry` / `Catch`
match on it), so names are part of the workflow's contract: rename one and
`infra/statemachine.asl.json` must change with it. Messages must never hold a
secret value: they reach logs, the execution history and SNS alerts.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from contract.errors import BundleContractError, BundleTamperedError

Action = Literal["stop", "retry", "skip"]


class IntegrationError(Exception):
    """Base of all runtime errors; `action` says what the caller must do."""

    action: ClassVar[Action] = "stop"


# --- stop: fix something, then run again ---------------------------------------


class ConfigError(IntegrationError):
    """A client config, a secret or the deployment is wrong; nothing was written."""


class ClientNotFound(ConfigError):
    """No item for this client_id in the clients table."""


class ClientDisabled(ConfigError):
    """The client exists but `enabled` is false."""


class InvalidClientConfig(ConfigError):
    """The client item does not validate; the message names the field."""


class InvalidSecret(ConfigError):
    """A credentials secret is missing, not JSON, or lacks a key (its value is never shown)."""


class UnknownProductType(ConfigError):
    """`product_type` names no registered adapter."""


class InvalidEvent(ConfigError):
    """A handler's input event does not have the documented shape; the message names the field."""


class TenantRoleNotConfigured(ConfigError):
    """On AWS a handler must reach a client's data through its stage's tenant role; none is set.

    A deploy that lost the function's `{STAGE}_TENANT_ROLE_ARN` fails closed: nothing is read
    with the function's own role (runtime/tenant_session.py).
    """


class TenantSessionRefused(ConfigError):
    """STS refused the tenant session (the role's trust or the function's policy does not allow it)."""


class RunDataError(IntegrationError):
    """Run data in S3 (a page, a report) is missing or unreadable: the run cannot go on."""


class MappingBundleError(IntegrationError, BundleContractError):
    """The compiled mapping bundle is missing from S3, malformed, or does not hold the named mapping."""


class BundleIntegrityError(MappingBundleError, BundleTamperedError):
    """A mapping module's SHA-256 or declaration does not match its manifest: refused, never imported."""


class BundleSignatureError(BundleIntegrityError):
    """The bundle's manifest is unsigned, or its signature does not verify with the deployment's key.

    Nothing of the bundle is read past its signed manifest, no module runs, and
    the run stops (never retried): someone wrote to `mappings/` who may not sign.
    """


class AuthenticationError(IntegrationError):
    """Credentials were refused (HTTP 401/403): alert and stop, never retry."""


class SiesaAuthError(AuthenticationError):
    """The ERP refused the credentials."""


class ProductAuthError(AuthenticationError):
    """The product (Kong, WMS, ...) refused the credentials."""


class SiesaResponseError(IntegrationError):
    """The ERP answered something outside its contract (an unexpected status or body)."""


class ProductResponseError(IntegrationError):
    """The product answered something outside its contract."""


# --- retry: transient, the same call may succeed later ---------------------------


class TransientError(IntegrationError):
    """A timeout, a dropped connection, a 5xx or a 429: retry with backoff."""

    action: ClassVar[Action] = "retry"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SiesaUnavailable(TransientError):
    """The ERP failed transiently (5xx, timeout, connection dropped, malformed page)."""


class ProductUnavailable(TransientError):
    """The product failed transiently (5xx, timeout, connection dropped)."""


class DedupIndexBusy(TransientError):
    """The dedup table kept a batch unprocessed (throttled): the workflow retries the invocation."""


class ResponseTooLarge(TransientError):
    """A response body passed the byte cap (MAX_RESPONSE_BYTES) while it streamed: cut off unread."""


class ResponseTooSlow(TransientError):
    """A request passed its total deadline (REQUEST_DEADLINE_SECONDS): cut off, however it dripped."""


class SiesaResponseTooLarge(SiesaUnavailable, ResponseTooLarge):
    """The ERP sent a response past the byte cap."""


class SiesaResponseTooSlow(SiesaUnavailable, ResponseTooSlow):
    """The ERP's response did not finish within the deadline."""


class ProductResponseTooLarge(ProductUnavailable, ResponseTooLarge):
    """The product sent a response past the byte cap."""


class ProductResponseTooSlow(ProductUnavailable, ResponseTooSlow):
    """The product's response did not finish within the deadline."""


class RateLimited(TransientError):
    """HTTP 429; `retry_after` holds the server's Retry-After in seconds when it sent one."""


class SiesaRateLimited(RateLimited):
    """The ERP's rate limit."""


class ProductRateLimited(RateLimited):
    """The product's rate limit."""


# --- skip: this record fails, the run goes on -------------------------------------


class RecordRejected(IntegrationError):
    """The product refused one record (HTTP 400 or a per-item error)."""

    action: ClassVar[Action] = "skip"

    def __init__(self, record_id: str, reason: str) -> None:
        super().__init__(f"record {record_id!r}: {reason}")
        self.record_id = record_id
        self.reason = reason
