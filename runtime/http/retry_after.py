"""`Retry-After` as seconds to wait, whichever of its two forms the server used."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER_SECONDS = 3600.0


def parse_retry_after(
    value: str | None,
    *,
    now: datetime | None = None,
    cap: float = MAX_RETRY_AFTER_SECONDS,
) -> float | None:
    """Seconds to wait from a `Retry-After` value: whole seconds or an HTTP-date.

    A date in the past gives 0; anything unreadable gives None (the caller then
    falls back to its own backoff). The result never exceeds `cap`, so a
    server cannot park a Lambda for a day.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return min(float(text), cap)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return min(max((when - current).total_seconds(), 0.0), cap)
