"""A remote server's words made fit for a message, a log line and an SNS alert.

Text an ERP or a product sends back (an error body, a field of a record)
reaches exception messages, and through them the workflow's alert e-mails
and the execution history. There it must be plain and short: terminal
escapes (ANSI), control and format characters (a newline that forges a line,
a right-to-left override that reverses what is read), and markup (HTML or
XML tags, entities) are taken out, whitespace is folded, and what is left is
cut to MAX_REMOTE_CHARS. An API client redacts its secrets between the two
steps (`runtime.http.api.JsonApi.clean_text`). This module imports nothing of
ours, so the logging layer can use it too.
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_REMOTE_CHARS = 160
"""The most characters of a server's text one message carries."""
MAX_ERROR_CHARS = 1000
"""The most characters of an error message a handler lets reach the workflow (and its alert)."""
_ANSI = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[@-Z\\-_])"
)
_TAG = re.compile(r"<[^<>]*>")
_NOT_PLAIN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def strip_to_plain(text: str) -> str:
    """`text` without escapes, tags, entities or control characters; whitespace folded."""
    text = _TAG.sub(" ", _ANSI.sub("", text))
    text = _TAG.sub(" ", html.unescape(text))  # an entity-encoded tag is markup too
    return strip_controls(text)


def strip_controls(text: str) -> str:
    """`text` without terminal escapes or control and format characters; whitespace folded.

    For text that is ours but may hold a server's words (an error message):
    markup is left alone there, since our own messages may use angle brackets.
    """
    text = _ANSI.sub("", text)
    text = "".join(" " if unicodedata.category(char) in _NOT_PLAIN else char for char in text)
    return " ".join(text.split())


def shorten(text: str, limit: int = MAX_REMOTE_CHARS) -> str:
    """`text` cut to `limit` characters, an ellipsis saying so."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_text(text: object, limit: int = MAX_REMOTE_CHARS) -> str:
    """A server's text (or a value it sent) as a message may carry it: plain, then cut short."""
    return shorten(strip_to_plain(str(text)), limit)
