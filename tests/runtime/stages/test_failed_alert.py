"""The failed-records alert core: above the threshold or not, grouped reasons, plain words."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from runtime import observability
from runtime.stages.failed_alert import (
    MAX_REASON_KINDS,
    MAX_SUBJECT_CHARS,
    OTHER_REASONS,
    TOP_REASONS,
    above_threshold,
    failed_records_alert,
    grouped_reason,
    reason_counts,
)

KEY = "runs/cliente-a/20250115T100000Z-3f9a1c/failed-records.ndjson"
RUN = "20250115T100000Z-3f9a1c"


def alert(processed: int, lines: list[dict[str, Any]], threshold: str = "5") -> Any:
    return failed_records_alert(
        client_id="cliente-a",
        client_name="Empresa A S.A.",
        run_id=RUN,
        sync_type="initial",
        processed=processed,
        failed=len(lines),
        threshold_percent=Decimal(threshold),
        reasons=reason_counts(lines),
        report_key=KEY,
    )


def line(record_id: str, reason: str) -> dict[str, Any]:
    return {"id": record_id, "stage": "product", "reason": reason}


@pytest.mark.parametrize(
    ("processed", "failed", "threshold", "above"),
    [
        (100, 5, "5", False),  # exactly 5% is not above 5%
        (100, 6, "5", True),
        (1000, 51, "5", True),
        (0, 0, "5", False),
        (10, 0, "0", False),
        (10, 1, "0", True),
        (10, 10, "100", False),
        (200, 5, "2.5", False),
        (200, 6, "2.5", True),
    ],
)
def test_only_a_share_strictly_above_the_threshold_alerts(
    processed: int, failed: int, threshold: str, above: bool
) -> None:
    assert above_threshold(processed, failed, Decimal(threshold)) is above


def test_reasons_are_grouped_with_what_belongs_to_one_record_left_out() -> None:
    assert (
        grouped_reason("Kong: rfid_tag_id E280EC79C348 is bound to product PROD000001", "P-9")
        == "Kong: rfid_tag_id … is bound to product …"
    )
    assert grouped_reason("line 2 (P1-02): stock_quantity: must be >= 0", "P1-02") == (
        "line 2 (…): stock_quantity: must be >= 0"
    )
    assert grouped_reason("WMS: zone_id 'ZONE-X' is not a listed zone", "P1") == (
        "WMS: zone_id 'ZONE-X' is not a listed zone"
    )
    assert grouped_reason("ean: is not a valid EAN-13 (13 digits)", "P1") == (
        "ean: is not a valid EAN-13 (13 digits)"
    )
    assert grouped_reason(None) == "no reason given"


def test_a_reason_is_made_plain_short_and_without_secrets() -> None:
    observability.register_secret("s3cr3t-key-value")
    try:
        text = grouped_reason(
            "Kong: <b>bad</b>\x1b[31m token s3cr3t-key-value\nforged line " + "x" * 400, "P1"
        )
    finally:
        observability.forget_secrets()
    assert "s3cr3t" not in text and "<b>" not in text and "\x1b" not in text
    assert "\n" not in text and len(text) <= 160
    assert text.startswith("Kong: bad token [redacted] forged line")


def test_an_alert_names_the_client_the_share_and_the_top_reasons_counted() -> None:
    lines = [
        *(
            line(f"PROD{n:06d}", f"Kong: rfid_tag_id E280{n:08d} is already bound")
            for n in range(5)
        ),
        *(line(f"P{n}", "ean: is not a valid EAN-13") for n in range(4)),
        *(line(f"P{n}", "name: is required but missing") for n in range(3)),
        line("P9", "WMS: zone_id 'ZONE-X' is not a listed zone"),
        line("P8", "quantity: must be >= 0"),
    ]

    found = alert(100, lines)

    assert found is not None
    assert (found.share_percent, found.threshold_percent) == (14.0, 5.0)
    assert found.reasons == [
        ("Kong: rfid_tag_id … is already bound", 5),
        ("ean: is not a valid EAN-13", 4),
        ("name: is required but missing", 3),
    ]
    assert len(found.reasons) == TOP_REASONS
    assert found.subject == "Siesa integration: 14% of records failed for cliente-a"
    assert found.message.splitlines() == [
        "Client cliente-a (Empresa A S.A.): 14 of 100 records in scope failed (14%) in run "
        f"{RUN} (initial sync), above the client's threshold of 5%.",
        "Top reasons:",
        "- 5 record(s): Kong: rfid_tag_id … is already bound",
        "- 4 record(s): ean: is not a valid EAN-13",
        "- 3 record(s): name: is required but missing",
        "- 2 record(s) for 2 other reason(s)",
        f"Every failed record and its reason: {KEY} in the config bucket. Once the cause is "
        f"fixed: siesa replay --client cliente-a --run {RUN}",
    ]
    assert found.to_json()["reasons"][0] == {
        "reason": "Kong: rfid_tag_id … is already bound",
        "records": 5,
    }


def test_no_alert_at_or_under_the_threshold() -> None:
    assert alert(100, [line(f"P{n}", "ean: bad") for n in range(5)]) is None
    assert alert(100, [line(f"P{n}", "ean: bad") for n in range(6)], threshold="10") is None


def test_the_subject_stays_under_the_sns_limit_for_the_longest_client_id() -> None:
    found = failed_records_alert(
        client_id="c" + "-" * 62,
        client_name="x",
        run_id=RUN,
        sync_type="initial",
        processed=3,
        failed=1,
        threshold_percent=Decimal(5),
        reasons=reason_counts([line("P1", "bad")]),
        report_key=KEY,
    )
    assert found is not None and len(found.subject) <= MAX_SUBJECT_CHARS
    assert found.subject.isascii() and found.share_percent == 33.33


def test_reason_counts_count_records() -> None:
    counts = reason_counts([line("A1", "x"), line("A2", "x"), line("A3", "y")])
    assert counts == {"x": 2, "y": 1}


def test_a_run_tells_apart_a_bounded_number_of_reasons() -> None:
    """Reasons all particular to their record (no four digits to group by) stop being told apart."""
    lines = [
        line(f"A{n}", f"bad {chr(97 + n % 26)}{n // 26}") for n in range(MAX_REASON_KINDS + 50)
    ]
    counts = reason_counts(lines)
    assert len(counts) == MAX_REASON_KINDS + 1
    assert counts[OTHER_REASONS] == 50 and counts.total() == len(lines)
