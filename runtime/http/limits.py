"""How much and how long one response may take: a byte cap and a total deadline, while streaming.

Per-read timeouts alone let a server keep a request alive for ever by sending
a byte now and then, and reading a body whole before looking at its size lets
it fill the Lambda's memory. So every response body is read in chunks: it is
cut off as soon as it passes `max_bytes` (or declares more in Content-Length)
or the request passes its deadline, and each single wait (connect, read,
write, pool) is also bounded by the deadline. What remains: a server that
drips its *headers* is bounded by the per-read timeout and the HTTP library's
header size limit, not by the deadline (docs/security.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import httpx

from runtime import settings


@dataclass(frozen=True, slots=True)
class ResponseLimits:
    """The byte cap of one response body and the deadline of one request, in seconds."""

    max_bytes: int
    deadline_seconds: float

    @classmethod
    def from_settings(cls) -> ResponseLimits:
        """The limits MAX_RESPONSE_BYTES and REQUEST_DEADLINE_SECONDS say (16 MB, 60 s by default)."""
        return cls(settings.max_response_bytes(), float(settings.request_deadline_seconds()))

    def timeout(self, base: httpx.Timeout) -> httpx.Timeout:
        """`base` with no single wait longer than the deadline."""

        def bounded(seconds: float | None) -> float:
            return self.deadline_seconds if seconds is None else min(seconds, self.deadline_seconds)

        return httpx.Timeout(
            connect=bounded(base.connect),
            read=bounded(base.read),
            write=bounded(base.write),
            pool=bounded(base.pool),
        )


CutOffKind = Literal["too_large", "deadline"]


class ResponseCutOff(Exception):
    """A response passed its byte cap ("too_large") or its request's deadline ("deadline")."""

    def __init__(self, kind: CutOffKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def read_body(response: httpx.Response, limits: ResponseLimits, started: float) -> bytes:
    """The decoded body of a streamed `response`, or ResponseCutOff.

    `started` is the request's start on `time.monotonic()`. Decoded bytes are
    counted, so a compressed body cannot expand past the cap either.
    """
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise ResponseCutOff("too_large", too_large(limits, f"declared {declared} bytes"))
    deadline = started + limits.deadline_seconds
    _check_deadline(limits, deadline)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limits.max_bytes:
            raise ResponseCutOff("too_large", too_large(limits, "sent more"))
        chunks.append(chunk)
        _check_deadline(limits, deadline)
    return b"".join(chunks)


def too_large(limits: ResponseLimits, what: str) -> str:
    """The detail of a body cut off at the cap."""
    return f"the body {what}: cut off at the cap of {limits.max_bytes} bytes"


def _check_deadline(limits: ResponseLimits, deadline: float) -> None:
    if time.monotonic() > deadline:
        raise ResponseCutOff(
            "deadline",
            f"the response did not finish within {limits.deadline_seconds:g} s: cut off",
        )
