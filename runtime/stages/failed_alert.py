"""The failed-records alert of a finished load: whether a run failed too many records, and its words.

The design document: a run with failed records above 5% of the records in
scope alerts. The records in scope are the run's `records_processed` (the
canonical records sent and the mapping's rejects; skipped records are not
in scope). The threshold is the client config's
`failed_records_alert_percent` (5 by default); only a share strictly above
it alerts. The loader puts the alert in its summary (`failed_records_alert`,
else null) and the workflow publishes it to the alerts topic
(`NotifyFailedRecords`, infra/statemachine.asl.json). A run none of whose
records reached the product is a failed run: the workflow sends the failure
alert instead, never both.

Every reason is made plain and short like any server's words
(runtime/remote_text.py) with secrets redacted, then grouped with what
belongs to one record written as `…`: the record's own id, and every word
with four or more digits (other ids, RFID tags, barcodes, large numbers). So
a hundred records refused for one cause are one reason, counted; the
TOP_REASONS most frequent are named. A run's reasons are counted as its
failures come (`ReasonTally`), so the end of a run holds counts, not the
failed records. Pure: counts in, the alert out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runtime.observability import failed_share, redact
from runtime.remote_text import plain_text

TOP_REASONS = 3
"""How many reasons an alert names (the most frequent)."""
MAX_SUBJECT_CHARS = 99
"""SNS takes a subject of under 100 ASCII characters."""
PARTICULAR = "…"
"""What a value particular to one record becomes in a grouped reason."""
MAX_REASON_KINDS = 1_000
"""Grouped reasons a run tells apart; failures of further reasons are counted as OTHER_REASONS
(a run whose reasons are all particular would otherwise hold one per failure)."""
OTHER_REASONS = "reasons beyond the first 1,000 kinds, not told apart"
_WORD = re.compile(r"[^\s'\"(),;:\[\]{}]+")
_DIGITS_OF_A_VALUE = 4


@dataclass(frozen=True)
class FailedRecordsAlert:
    """The alert of a run whose failed records are above the client's threshold."""

    share_percent: float
    threshold_percent: float
    reasons: list[tuple[str, int]]
    """The most frequent grouped reasons and their record counts, most frequent first."""
    subject: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """What the loader summary carries, and the workflow publishes (`subject`, `message`)."""
        return {
            "share_percent": self.share_percent,
            "threshold_percent": self.threshold_percent,
            "reasons": [{"reason": reason, "records": count} for reason, count in self.reasons],
            "subject": self.subject,
            "message": self.message,
        }


def grouped_reason(reason: object, record_id: object = None) -> str:
    """A failed record's reason, plain and redacted, with what is particular to the record as `…`."""
    text = plain_text(redact(str(reason or "no reason given")))
    own = str(record_id).strip() if record_id is not None else ""

    def word(match: re.Match[str]) -> str:
        found = match.group(0)
        digits = sum(char.isdigit() for char in found)
        return PARTICULAR if found == own or digits >= _DIGITS_OF_A_VALUE else found

    return _WORD.sub(word, text)


class ReasonTally:
    """A run's failed records counted by grouped reason as they come, at most MAX_REASON_KINDS kinds."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, line: Mapping[str, Any]) -> None:
        """Count one failed record's reason."""
        reason = grouped_reason(line.get("reason"), line.get("id"))
        if reason not in self.counts and len(self.counts) >= MAX_REASON_KINDS:
            reason = OTHER_REASONS
        self.counts[reason] += 1


def reason_counts(lines: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """How many failed records gave each grouped reason."""
    tally = ReasonTally()
    for line in lines:
        tally.add(line)
    return tally.counts


def above_threshold(processed: int, failed: int, threshold_percent: Decimal) -> bool:
    """Whether `failed` is strictly above `threshold_percent` of `processed` (exact arithmetic)."""
    return processed > 0 and Decimal(failed) * 100 > threshold_percent * processed


def failed_records_alert(
    *,
    client_id: str,
    client_name: str,
    run_id: str,
    sync_type: str,
    processed: int,
    failed: int,
    threshold_percent: Decimal,
    reasons: Counter[str],
    report_key: str,
) -> FailedRecordsAlert | None:
    """The alert of this run, or None when its failed records are not above the threshold."""
    if not above_threshold(processed, failed, threshold_percent):
        return None
    share = failed_share(processed, failed)
    counts = reasons
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS]
    others = counts.total() - sum(count for _, count in top)
    threshold = _percent(float(threshold_percent))
    subject = f"Siesa integration: {_percent(share)} of records failed for {client_id}"
    lines_out = [
        f"Client {client_id} ({plain_text(client_name)}): {failed:,} of {processed:,} records "
        f"in scope failed ({_percent(share)}) in run {run_id} ({sync_type} sync), above the "
        f"client's threshold of {threshold}.",
        "Top reasons:",
        *(f"- {count:,} record(s): {reason}" for reason, count in top),
    ]
    if others:
        kinds = len(counts) - len(top)
        lines_out.append(f"- {others:,} record(s) for {kinds:,} other reason(s)")
    lines_out.append(
        f"Every failed record and its reason: {report_key} in the config bucket. Once the "
        f"cause is fixed: siesa replay --client {client_id} --run {run_id}"
    )
    return FailedRecordsAlert(
        share_percent=share,
        threshold_percent=float(threshold_percent),
        reasons=top,
        subject=subject[:MAX_SUBJECT_CHARS],
        message="\n".join(lines_out),
    )


def _percent(value: float) -> str:
    """12.5 -> "12.5%", 6.0 -> "6%" (two decimals at most)."""
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"
