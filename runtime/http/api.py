"""The shared core of every API client: one JSON call, classified, retried, timed.

A concrete client (the Siesa REST source, the product adapters' API) says
only two things: which `Failure` becomes which runtime error (its one place
for that, `error_for`), and which retry policy applies. Everything else (auth,
the budget, retries, latency reports, keeping secrets out of messages) is here.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import count
from typing import Any, Literal, NoReturn
from urllib.parse import urlsplit

import httpx

from contract import jsontext
from runtime.errors import IntegrationError
from runtime.http.budget import BudgetGate, BudgetWaitTooLong
from runtime.http.connection import make_http_client
from runtime.http.latency import ApiCall, LatencyHook, report_call
from runtime.http.limits import ResponseCutOff, ResponseLimits, read_body
from runtime.http.retry import HttpFailure, RetryPolicy, Sleeper, parse_retry_after
from runtime.observability import redact
from runtime.remote_text import shorten, strip_to_plain

FailureKind = Literal[
    "status", "timeout", "connection", "malformed", "too_large", "deadline", "budget"
]
BodyCheck = Callable[[Any], "str | None"]
TRANSIENT_STATUSES = frozenset({408, 500, 502, 503, 504})
"""Statuses that say the server may answer if asked again: every client's `error_for` retries them."""


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed HTTP attempt, described without any header or secret value.

    `operation` is "METHOD /path"; `detail` is the server's own error text
    (scrubbed, truncated) or what went wrong on the wire; `retry_after` is the
    server's Retry-After in seconds when it sent one. Kind "budget" is a
    request never sent: the client's budget would have held it longer than
    the retry policy waits (every `error_for` makes it its rate-limited error).
    """

    operation: str
    kind: FailureKind
    status: int | None
    detail: str
    retry_after: float | None = None
    host: str = ""
    """`host:port` called, named when the connection itself failed (DNS, refused, timeout)."""

    def describe(self, api_name: str) -> str:
        """One sentence for an exception message: who, what, how it failed."""
        if self.kind == "status":
            text = f"{api_name} {self.operation} answered {self.status}"
        elif self.kind == "timeout":
            text = f"{api_name} {self.operation}{self._at()} timed out"
        elif self.kind == "connection":
            text = f"{api_name} {self.operation}{self._at()}: connection failed"
        elif self.kind == "too_large":
            text = f"{api_name} {self.operation} answered too much"
        elif self.kind == "deadline":
            text = f"{api_name} {self.operation} answered too slowly"
        elif self.kind == "budget":
            text = f"{api_name} {self.operation} was not sent"
        else:
            text = f"{api_name} {self.operation} answered a malformed body"
        return f"{text}: {self.detail}" if self.detail else text

    def _at(self) -> str:
        return f" at {self.host}" if self.host else ""


def host_of(url: str) -> str:
    """`host:port` of a URL (never its user or password part)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or ""
    return f"{host}:{port}" if host and port else host


def error_text(content: bytes, encoding: str | None = None) -> str:
    """The server's error message: the `error` (and `detail`) of a JSON body, else its text."""
    try:
        body = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return content.decode(encoding or "utf-8", errors="replace").strip()
    if isinstance(body, dict):
        parts = [str(body[key]) for key in ("error", "mensaje", "detail") if body.get(key)]
        if parts:
            return ": ".join(parts)
    return json.dumps(body, ensure_ascii=False)


class JsonApi(ABC):
    """Calls one JSON API with the runtime's retry, budget, latency and secrecy rules."""

    def __init__(
        self,
        *,
        api_name: str,
        auth: httpx.Auth,
        secret_values: Iterable[str] = (),
        http: httpx.Client | None = None,
        policy: RetryPolicy,
        sleep: Sleeper = time.sleep,
        on_latency: LatencyHook | None = None,
        budget: BudgetGate | None = None,
        limits: ResponseLimits | None = None,
    ) -> None:
        self.api_name = api_name
        self.limits = limits or ResponseLimits.from_settings()
        self._auth = auth
        self._secrets = tuple(value for value in secret_values if value)
        self._owns_http = http is None
        self._http = http if http is not None else make_http_client()
        self.policy = policy
        self._sleep = sleep
        self._on_latency = on_latency
        self._budget = budget

    @abstractmethod
    def error_for(self, failure: Failure) -> IntegrationError:
        """The runtime error (stop, retry or skip) for one failed attempt."""

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        check: BodyCheck | None = None,
        policy: RetryPolicy | None = None,
    ) -> Any:
        """The decoded JSON body of a successful call, retrying per the policy.

        `check` returns a reason when a decoded body breaks the API's contract;
        such a body counts as malformed (and is retried like one). Raises the
        runtime error for the last failed attempt when retries end.
        """
        attempts = count(1)
        chosen = policy or self.policy
        return chosen.call(
            lambda: self.call_once(
                method,
                url,
                params=params,
                json_body=json_body,
                check=check,
                attempt=next(attempts),
                max_wait=chosen.retry_after_cap,
            ),
            sleep=self._sleep,
        )

    def call_once(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        check: BodyCheck | None = None,
        attempt: int = 1,
        max_wait: float | None = None,
    ) -> Any:
        """One attempt: the decoded body, or the classified runtime error.

        It first takes a request from the client's budget, waiting at most
        `max_wait` seconds for it; a 429 with Retry-After pauses the budget, so
        every worker of the client waits it out, not only this one.
        """
        operation = f"{method} {urlsplit(url).path or '/'}"
        self._take_budget(operation, max_wait)
        started = time.perf_counter()
        began = time.monotonic()
        status: int | None = None
        try:
            with self._http.stream(
                method,
                url,
                params=params,
                auth=self._auth,
                timeout=self.limits.timeout(self._http.timeout),
                **_json_content(json_body),
            ) as response:
                status = response.status_code
                content = read_body(response, self.limits, began)
            if not response.is_success:
                failure = Failure(
                    operation,
                    "status",
                    status,
                    self.clean_text(error_text(content, response.charset_encoding)),
                    parse_retry_after(response.headers.get("Retry-After")),
                )
                self._report(operation, status, "error", started, attempt)
                if status == 429 and failure.retry_after and self._budget is not None:
                    self._budget.pause(failure.retry_after)
                raise self.error_for(failure) from HttpFailure("status", status, failure.detail)
            body = self._decode(content)
            problem = check(body) if check is not None else None
            if problem is not None:
                raise _Malformed(self.clean_text(problem))
        except ResponseCutOff as exc:
            self._fail(operation, exc.kind, status, exc.detail, started, attempt)
        except httpx.TimeoutException as exc:
            if time.monotonic() - began < self.limits.deadline_seconds:
                self._fail(
                    operation, "timeout", None, type(exc).__name__, started, attempt, host_of(url)
                )
            detail = f"no answer within the deadline of {self.limits.deadline_seconds:g} s"
            self._fail(operation, "deadline", status, detail, started, attempt)
        except httpx.RequestError as exc:
            detail = self.clean_text(f"{type(exc).__name__}: {exc}")
            self._fail(operation, "connection", None, detail, started, attempt, host_of(url))
        except _Malformed as exc:
            self._fail(operation, "malformed", status, exc.detail, started, attempt)
        self._report(operation, status, "ok", started, attempt)
        return body

    def _take_budget(self, operation: str, max_wait: float | None) -> None:
        """One request of the client's budget; its rate-limited error when the wait is too long."""
        if self._budget is None:
            return
        try:
            self._budget.acquire(max_wait)
        except BudgetWaitTooLong as exc:
            failure = Failure(operation, "budget", None, str(exc), exc.seconds)
            raise self.error_for(failure) from HttpFailure("budget", None, failure.detail)

    def _fail(
        self,
        operation: str,
        kind: FailureKind,
        status: int | None,
        detail: str,
        started: float,
        attempt: int,
        host: str = "",
    ) -> NoReturn:
        """Report the failed attempt and raise the client's error for it."""
        self._report(operation, status, "error" if kind == "status" else kind, started, attempt)
        failure = Failure(operation, kind, status, detail, host=host)
        raise self.error_for(failure) from HttpFailure(kind, status, detail)

    def close(self) -> None:
        """Close the HTTP client when this API created it (an injected one is the caller's)."""
        if self._owns_http:
            self._http.close()

    def _decode(self, content: bytes) -> Any:
        if not content:
            return None
        try:
            return jsontext.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Malformed(f"not valid JSON ({type(exc).__name__})") from None

    def clean_text(self, text: str) -> str:
        """Server text fit for a message and an alert: plain, secrets redacted, then cut short.

        Redacted after stripping (an escape inside an echoed key cannot hide
        it) and before cutting (a cut cannot leave half a key unredacted).
        """
        return shorten(redact(strip_to_plain(text), self._secrets))

    def _report(
        self, operation: str, status: int | None, outcome: str, started: float, attempt: int
    ) -> None:
        call = ApiCall(
            api=self.api_name,
            operation=operation,
            status=status,
            outcome=outcome,
            seconds=time.perf_counter() - started,
            attempt=attempt,
        )
        report_call(call, self._on_latency)


def _json_content(body: Any) -> dict[str, Any]:
    """httpx arguments for a JSON request body written by `jsontext` (a Decimal as a number)."""
    if body is None:
        return {}
    return {
        "content": jsontext.dumps(body).encode("utf-8"),
        "headers": {"Content-Type": "application/json"},
    }


class _Malformed(Exception):
    """A 2xx whose body is not JSON; internal to `call_once`."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
