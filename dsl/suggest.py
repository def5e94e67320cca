"""Did-you-mean hints: the closest known word to one the user mistyped.

One rule for the parser's messages and the compiler's: a close spelling
(difflib, cut-off 0.6), else the same word in other case, else nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The known word most like `word`, or None when nothing is close enough to be a typo."""
    options = sorted(set(choices))
    if not word or word in options:
        return None
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    lowered = {option.lower(): option for option in options}
    return lowered.get(word.lower())


def did_you_mean(
    word: str, choices: Iterable[str], aliases: Mapping[str, str] | None = None
) -> str | None:
    """A hint such as "did you mean `field`?", or None.

    `aliases` maps words people write for a known one (`integer` for `int`);
    an alias wins over a close spelling.
    """
    match = aliases.get(word.lower()) if aliases else None
    if match is None:
        match = closest(word, choices)
    return None if match is None else f"did you mean `{match}`?"
