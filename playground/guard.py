"""Which requests the playground refuses: it answers only its own page on this machine.

The server listens on 127.0.0.1 only, but a page on any web site can still
make the engineer's browser send requests there. Three checks close that:
- DNS rebinding (a site's name re-pointed at 127.0.0.1, so its page is "same
  origin" with the server) shows in the Host header: only `127.0.0.1:PORT` and
  `localhost:PORT` are answered (403 otherwise).
- A cross-site `fetch` carries the page's Origin: only the server's own
  origin, `http://` + the Host it was reached at, is answered (403 otherwise).
- A cross-site HTML form can POST without an Origin check in old browsers but
  cannot send a JSON content type: a POST must say `application/json` (415).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Refusal:
    """An HTTP status and why, for a request the server will not act on."""

    status: int
    reason: str


def allowed_hosts(port: int) -> frozenset[str]:
    """The Host headers this server answers to."""
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def _one(headers: Message, name: str) -> tuple[str | None, bool]:
    """The header's value and whether it came at most once."""
    values = headers.get_all(name) or []
    return (values[0] if values else None), len(values) <= 1


def refusal(method: str, headers: Message, port: int) -> Refusal | None:
    """Why the request must be refused, or None when it may be answered."""
    host, single_host = _one(headers, "Host")
    if not single_host or host not in allowed_hosts(port):
        return Refusal(
            403, f"this server answers only to Host 127.0.0.1:{port} or localhost:{port}"
        )
    origin, single_origin = _one(headers, "Origin")
    if not single_origin or (origin is not None and origin != f"http://{host}"):
        return Refusal(403, "requests from another origin are refused")
    if method == "POST" and headers.get_content_type() != JSON_TYPE:
        return Refusal(415, f"send the request body as {JSON_TYPE}")
    return None


def security_headers() -> Mapping[str, str]:
    """Headers on every answer: nothing loaded from elsewhere, no framing, nothing cached."""
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
