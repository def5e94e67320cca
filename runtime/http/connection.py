"""The one way the runtime builds an HTTP client, and how credentials ride on it.

Every API (Siesa, Kong, WMS, ...) shares the same timeouts, HTTP/1.1 and
connection limits. Credentials are attached per request by an `httpx.Auth`
whose repr never shows the value, so an injected client never carries them
and nothing that prints a client or an auth object prints a secret.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Generator

import httpx
from pydantic import SecretStr

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 30.0
DEFAULT_TIMEOUT = httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
DEFAULT_LIMITS = httpx.Limits(
    max_connections=10, max_keepalive_connections=5, keepalive_expiry=30.0
)
USER_AGENT = "siesa-integration/0.1"


def make_http_client(
    *,
    timeout: httpx.Timeout | float | None = None,
    limits: httpx.Limits | None = None,
) -> httpx.Client:
    """A fresh client: connect 5 s, read 30 s, HTTP/1.1, pooled, no redirects followed.

    Redirects are refused rather than followed so that a credential header is
    never replayed to a host the client config did not name.
    """
    if timeout is None:
        resolved = DEFAULT_TIMEOUT
    elif isinstance(timeout, httpx.Timeout):
        resolved = timeout
    else:
        resolved = httpx.Timeout(timeout)
    return httpx.Client(
        verify=_tls_context(),
        timeout=resolved,
        limits=limits or DEFAULT_LIMITS,
        http1=True,
        http2=False,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying TLS context, made once per process and shared by every client.

    Making it loads the whole CA bundle (tens of milliseconds of CPU); a run
    makes a client per API per invocation. A context is safe to share between
    clients and threads; httpx would make exactly this one for `verify=True`.
    """
    return httpx.create_ssl_context()


class HeaderAuth(httpx.Auth):
    """Sets one credential header on each request; the value is kept as a SecretStr."""

    def __init__(self, header: str, value: SecretStr, *, prefix: str = "") -> None:
        self.header = header
        self._value = value
        self._prefix = prefix

    def apply(self, request: httpx.Request) -> None:
        """Set the header on `request`."""
        request.headers[self.header] = self._prefix + self._value.get_secret_value()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header and send the request once."""
        self.apply(request)
        yield request

    @property
    def secret_values(self) -> tuple[str, ...]:
        """What must be scrubbed from any text the API sends back."""
        return (self._value.get_secret_value(),)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(header={self.header!r}, value='**********')"


def bearer_auth(token: SecretStr) -> HeaderAuth:
    """`Authorization: Bearer <token>`."""
    return HeaderAuth("Authorization", token, prefix="Bearer ")


def api_key_auth(header: str, key: SecretStr) -> HeaderAuth:
    """A key in a header of its own, e.g. `X-API-Key`."""
    return HeaderAuth(header, key)


class MultiHeaderAuth(httpx.Auth):
    """Several credential headers at once (e.g. Connekta's ConniKey and ConniToken)."""

    def __init__(self, *parts: HeaderAuth) -> None:
        self._parts = parts

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add every header and send the request once."""
        for part in self._parts:
            part.apply(request)
        yield request

    @property
    def secret_values(self) -> tuple[str, ...]:
        """What must be scrubbed from any text the API sends back."""
        return tuple(value for part in self._parts for value in part.secret_values)

    def __repr__(self) -> str:
        headers = ", ".join(part.header for part in self._parts)
        return f"{type(self).__name__}(headers=[{headers}])"
