"""The playground in a real browser: type a field, read its value; type a mistake, read the caret.

Headless Chromium through Selenium (browser_support.py), keystrokes only, and
`siesa map serve --write` as its own process. With SIESA_SCREENSHOTS=1 the
test also saves the pictures docs/mapping-workflow.md shows (docs/images/).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    MISSING,
    SCREENSHOTS,
    SKIP_REASON,
    WANT_SCREENSHOTS,
    chrome_driver,
    start_serve,
)
from playground_support import MAPPING, write_mapping

pytestmark = pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON)

NEW_FIELD = 'field custom:origin string optional = "playground" -> attributes.origin'
MISTAKE = "field custom:size string optional <- f_talla -> attributes.size chek length 1..3"
WAIT_SECONDS = 20  # a guard against a page that never answers, not a speed check


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    driver: Any = chrome_driver()
    try:
        yield driver
    finally:
        driver.quit()


def _text(browser: Any, element_id: str) -> str:
    return str(browser.find_element("id", element_id).text)


def _wait_for(browser: Any, condition: Any, what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, WAIT_SECONDS, poll_frequency=0.05).until(
        lambda driver: condition(), message=what
    )


def _screenshot(browser: Any, name: str) -> None:
    if WANT_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / name))


def test_typing_a_field_shows_its_value_and_a_mistake_shows_its_caret(
    browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    path = write_mapping(tmp_path)
    served = start_serve(tmp_path, "mini.map", "--write")
    try:
        browser.get(served.url)
        _wait_for(
            browser,
            lambda: _text(browser, "summary") == "1 record(s) mapped, 1 rejected, 0 skipped",
            "the first results",
        )
        assert _text(browser, "file") == "mini.map"
        source = browser.find_element("id", "source")

        source.send_keys(Keys.CONTROL, Keys.END)
        source.send_keys(NEW_FIELD)
        product = _wait_for(
            browser,
            lambda: (
                '"origin": "playground"' in _text(browser, "outputs") and _text(browser, "outputs")
            ),
            "the new field's value in the product record",
        )
        assert '"attributes": {\n    "origin": "playground"\n  }' in product
        _wait_for(browser, lambda: _text(browser, "saved") == "saved", "saved")
        saved = MAPPING + NEW_FIELD
        assert path.read_text(encoding="utf-8") == saved
        _screenshot(browser, "playground-output.png")

        source.send_keys(Keys.ENTER, MISTAKE)
        line = saved.count("\n") + 2
        column = MISTAKE.index("chek") + 1
        header = f"mini.map:{line}:{column}: error: "
        diagnostics = _wait_for(
            browser,
            lambda: header in _text(browser, "diagnostics") and _text(browser, "diagnostics"),
            "the mistake's diagnostic",
        )
        shown = diagnostics.splitlines()
        assert shown[1] == f"{line:>5} | {MISTAKE}"
        assert shown[2] == "      | " + " " * (column - 1) + "^^^^"
        assert _text(browser, "saved") == "not saved: does not parse"
        assert browser.find_element("id", "stale").is_displayed()
        assert path.read_text(encoding="utf-8") == saved, "a text that does not parse is not saved"
        _screenshot(browser, "playground-diagnostic.png")
    finally:
        served.stop()
