"""One scrubber for every log record of the process: any logger, any library, any handler."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from runtime import observability
from runtime.observability import install_log_scrubber, register_secret

CANARY = "sk-live-scrubber-canary-5e2c"


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    install_log_scrubber()
    register_secret(CANARY + "\n")
    yield
    observability.forget_secrets()


@pytest.mark.parametrize("name", ["h11", "httpx", "runtime.http.retry", "botocore.hooks", "root"])
def test_a_record_of_any_logger_reaches_root_handlers_scrubbed(name: str) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logger = logging.getLogger(None if name == "root" else name)
        logger.warning("Illegal header value %r", f"Bearer {CANARY}\n".encode())
        try:
            raise ValueError(f"token {CANARY} refused")
        except ValueError:
            logger.error("failed with %s", CANARY, exc_info=True)
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    assert "[redacted]" in text and "ValueError" in text
    assert CANARY not in text


def test_the_captured_records_hold_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("tenacity").info("retrying with %s", {"key": CANARY})
    (record,) = caplog.records
    assert CANARY not in str(record.__dict__)


def test_installing_twice_keeps_one_scrubber() -> None:
    factory = logging.getLogRecordFactory()
    install_log_scrubber()
    assert logging.getLogRecordFactory() is factory
