"""`check matches` regexes: checked against RE2's syntax, with the offending construct located.

Compiled modules run these regexes on RE2 (`compiler.prelude._regex`), which
matches in time linear in the value, so no regex and no ERP value can stall a
run. The price is what RE2 cannot run: backreferences, lookaround, atomic
groups and possessive repeats. RE2 names the construct it refused but not
where it is, so the position is found here by scanning the pattern's tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler import prelude


@dataclass(frozen=True, slots=True)
class RegexError:
    """Why RE2 refuses a regex, at pattern[start:end] (end None: the whole regex)."""

    start: int
    end: int | None
    message: str
    hint: str | None = None


# What RE2 refuses that other engines (Python's `re`, PCRE) run, and what to do instead.
_UNSUPPORTED = (
    ("(?=", "lookahead `(?=...)`", None),
    ("(?!", "negative lookahead `(?!...)`", None),
    ("(?<=", "lookbehind `(?<=...)`", None),
    ("(?<!", "negative lookbehind `(?<!...)`", None),
    ("(?>", "an atomic group `(?>...)`", None),
    ("(?P=", "a backreference `(?P=name)`", None),
    ("(?(", "a conditional group `(?(...)...)`", None),
)
_LINEAR_ONLY = "regexes run on RE2, in time linear in the value"


def _tokens(pattern: str) -> list[tuple[int, bool]]:
    """(start, inside a character class) of each token: escapes and classes are scanned whole."""
    found: list[tuple[int, bool]] = []
    index = 0
    in_class = False
    class_start = 0
    while index < len(pattern):
        found.append((index, in_class))
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if not in_class and char == "[":
            in_class = True
            class_start = index
            index += 1
            if pattern.startswith("^", index):
                index += 1
            if pattern.startswith("]", index):
                index += 1  # a `]` first in a class is literal
            continue
        if in_class and pattern.startswith("[:", index):
            close = pattern.find(":]", index + 2)
            index = close + 2 if close >= 0 else index + 1
            continue
        if in_class and char == "]" and index > class_start:
            in_class = False
        index += 1
    return found


def _unmatched_paren(pattern: str, tokens: list[tuple[int, bool]]) -> int | None:
    """The position of the first `(` never closed, or of a `)` that closes nothing."""
    open_at: list[int] = []
    for start, in_class in tokens:
        if in_class:
            continue
        if pattern[start] == "(":
            open_at.append(start)
        elif pattern[start] == ")":
            if not open_at:
                return start
            open_at.pop()
    return open_at[0] if open_at else None


def _locate(pattern: str, message: str) -> tuple[int, int | None]:
    """Where in the pattern RE2's complaint `CODE: ARG` points."""
    code, _, arg = message.partition(": ")
    tokens = _tokens(pattern)
    if code in ("missing )", "unexpected )"):
        where = _unmatched_paren(pattern, tokens)
        return (0, None) if where is None else (where, where + 1)
    if code == "missing ]" and arg and pattern.endswith(arg):
        start = len(pattern) - len(arg)
        return start, start + 1
    if code == "trailing \\":
        return len(pattern) - 1, len(pattern)
    if arg:
        starts = [start for start, _ in tokens if pattern.startswith(arg, start)]
        # `(?P<name>` is fine and `(?P=name)` is not: RE2 names both `(?P`.
        for start in starts:
            for opener, _, _ in _UNSUPPORTED:
                if pattern.startswith(opener, start):
                    return start, start + len(opener)
        for start in starts:
            return start, start + len(arg)
        start = pattern.find(arg)
        if start >= 0:
            return start, start + len(arg)
    return 0, None


def _reversed(repeat: str) -> bool:
    """Whether a `{N,M}` repeat has N > M."""
    low, comma, high = repeat.strip("{}").partition(",")
    return bool(comma) and low.isdigit() and high.isdigit() and int(low) > int(high)


def _explained(pattern: str, start: int, code: str, arg: str) -> tuple[str, str | None]:
    """RE2's complaint in the words of the user's construct, with what to write instead."""
    for opener, construct, hint in _UNSUPPORTED:
        if pattern.startswith(opener, start):
            return f"invalid regex: {construct} is not supported ({_LINEAR_ONLY})", hint
    if code == "invalid escape sequence" and arg[1:2].isdigit():
        return f"invalid regex: a backreference `{arg}` is not supported ({_LINEAR_ONLY})", None
    if code == "bad repetition operator" and arg[1:] == "+":
        return f"invalid regex: a possessive repeat `{arg}` is not supported ({_LINEAR_ONLY})", None
    if arg == "\\Z":
        return "invalid regex: `\\Z` is not RE2 syntax", (
            "write `\\z`, or nothing: the whole value must match anyway"
        )
    if arg == "\\u":
        return "invalid regex: `\\u` is not RE2 syntax", (
            "write the character itself, or `\\x{00E9}`"
        )
    if code == "missing )":
        return "invalid regex: this `(` is not closed", "write `\\(` for a literal parenthesis"
    if code == "unexpected )":
        return "invalid regex: this `)` closes nothing", "write `\\)` for a literal parenthesis"
    if code == "missing ]":
        return "invalid regex: this `[` is not closed", "write `\\[` for a literal bracket"
    if code == "invalid repetition size" and _reversed(arg):
        return f"invalid regex: the repeat `{arg}` has its minimum above its maximum", None
    if code == "invalid repetition size":
        return f"invalid regex: the repeat `{arg}` is too large", (
            "RE2 repeats at most 1000 times, and nested repeats multiply"
        )
    if not arg:
        return f"invalid regex: {code}", None
    return f"invalid regex: {code} `{arg}`", None


def regex_error(pattern: str) -> RegexError | None:
    """Why RE2 refuses `pattern`, located in it; None when RE2 can run it."""
    for start, in_class in _tokens(pattern):
        if not in_class and pattern.startswith("\\C", start):
            return RegexError(
                start,
                start + 2,
                "invalid regex: `\\C` (one byte) is not supported: it can split a character",
                "write `.` for one character",
            )
    try:
        prelude._regex(pattern)
    except ValueError as exc:
        message = str(exc)
    else:
        return None
    code, _, arg = message.partition(": ")
    if code.startswith("pattern too large"):
        return RegexError(
            0, None, "invalid regex: too large for RE2", "repeat less, or split it into checks"
        )
    start, end = _locate(pattern, message)
    text, hint = _explained(pattern, start, code, arg)
    return RegexError(start, end, text, hint)
