"""A server's text made plain and short before it reaches a message or an alert."""

from __future__ import annotations

from pydantic import SecretStr

from runtime.http import SIESA_RETRY_POLICY, bearer_auth
from runtime.http.api import Failure
from runtime.remote_text import MAX_REMOTE_CHARS, plain_text, strip_controls, strip_to_plain
from runtime.siesa.rest import SiesaRestApi


def test_escapes_controls_and_markup_are_taken_out() -> None:
    text = "\x1b[31mDenied\x1b[0m\r\nFAKE: ok\u202e<b>bold</b> &lt;script&gt;x&lt;/script&gt; \x1b]0;title\x07end"
    assert strip_to_plain(text) == "Denied FAKE: ok bold x end"


def test_our_own_angle_brackets_survive_the_last_pass() -> None:
    assert strip_controls("rule <client_id>\nnext\x00") == "rule <client_id> next"


def test_long_text_is_cut_short_with_an_ellipsis() -> None:
    cut = plain_text("x" * 5000)
    assert len(cut) == MAX_REMOTE_CHARS and cut.endswith("…")


def test_an_echoed_key_is_redacted_even_when_escapes_split_it() -> None:
    key = "sk-live-0123456789"
    api = SiesaRestApi(
        api_name="Siesa",
        auth=bearer_auth(SecretStr(key)),
        secret_values=[key],
        policy=SIESA_RETRY_POLICY,
    )
    try:
        detail = api.clean_text("bad token sk-live-\x1b[0m0123456789 " + "y" * 400)
    finally:
        api.close()
    assert key not in detail and "[redacted]" in detail
    assert len(detail) == MAX_REMOTE_CHARS
    message = Failure("GET /x", "status", 401, detail).describe("Siesa")
    assert "\x1b" not in message
