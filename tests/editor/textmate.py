"""Just enough of a TextMate tokenizer to test the `.map` grammar with Python's `re`.

Editors run TextMate grammars on Oniguruma. The grammar keeps to the part of
regex syntax both engines read alike (character classes, `\\b`, `\\s`, groups,
`(?:...)`, lookahead, `^` and `$` on one line), so Python's `re` stands in
for it here. Supported: `match` rules with `name` or `captures`, `begin`/`end`
rules (within one line) with inner `patterns`, `include` of `#name` and
`$self`. At each position the rule matching earliest wins, the first listed
on a tie, as in TextMate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Token:
    text: str
    scope: str | None  # the innermost scope name; None for text no rule matched
    start: int


class Grammar:
    def __init__(self, grammar: dict[str, Any]) -> None:
        self.grammar = grammar
        self.repository: dict[str, Any] = grammar.get("repository", {})

    def regexes(self) -> Iterator[str]:
        """Every regex the grammar holds, wherever it is."""

        def walk(node: Any) -> Iterator[str]:
            if isinstance(node, dict):
                for key in ("match", "begin", "end"):
                    if key in node:
                        yield node[key]
                for value in node.values():
                    yield from walk(value)
            elif isinstance(node, list):
                for item in node:
                    yield from walk(item)

        yield from walk(self.grammar)

    def _rules(self, patterns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The patterns with every include replaced by what it names, in order."""
        rules: list[dict[str, Any]] = []
        for pattern in patterns:
            include = pattern.get("include")
            if include == "$self":
                rules.extend(self._rules(self.grammar["patterns"]))
            elif include is not None:
                rules.extend(self._rules([self.repository[include.removeprefix("#")]]))
            elif "patterns" in pattern and "begin" not in pattern and "match" not in pattern:
                rules.extend(self._rules(pattern["patterns"]))
            else:
                rules.append(pattern)
        return rules

    def tokenize(self, line: str) -> list[Token]:
        """The line's tokens, in order; text between matches is a token with no scope."""
        return list(self._tokens(line, 0, len(line), self._rules(self.grammar["patterns"])))

    def _tokens(
        self, line: str, start: int, stop: int, rules: list[dict[str, Any]]
    ) -> Iterator[Token]:
        position = start
        while position < stop:
            best: tuple[int, int, dict[str, Any], re.Match[str]] | None = None
            for order, rule in enumerate(rules):
                pattern = re.compile(rule.get("match") or rule["begin"])
                found = pattern.search(line, position, stop)
                if found is not None and (best is None or (found.start(), order) < best[:2]):
                    best = (found.start(), order, rule, found)
            if best is None:
                yield Token(line[position:stop], None, position)
                return
            at, _, rule, found = best
            if at > position:
                yield Token(line[position:at], None, position)
            if "begin" in rule:
                end = re.compile(rule["end"])
                inner = self._rules(rule.get("patterns", []))
                close = self._end(line, found.end(), stop, end, inner)
                yield Token(found.group(), rule["name"], at)
                for token in self._tokens(line, found.end(), close.start(), inner):
                    yield Token(token.text, token.scope or rule["name"], token.start)
                if close.end() > close.start():
                    yield Token(close.group(), rule["name"], close.start())
                position = max(close.end(), found.end())
            else:
                yield from self._captured(rule, found)
                position = max(found.end(), at + 1)

    def _end(
        self, line: str, start: int, stop: int, end: re.Pattern[str], inner: list[dict[str, Any]]
    ) -> re.Match[str]:
        """Where a begin/end region ends: the first `end` not inside an inner match."""
        position = start
        while position <= stop:
            closing = end.search(line, position, stop)
            inside = [
                found
                for rule in inner
                if (found := re.compile(rule["match"]).search(line, position, stop)) is not None
            ]
            first = min(inside, key=lambda m: m.start(), default=None)
            if closing is not None and (first is None or closing.start() <= first.start()):
                return closing
            if first is None:
                break
            position = max(first.end(), first.start() + 1)
        missing = re.compile(r"$").search(line, stop, stop)
        assert missing is not None
        return missing

    @staticmethod
    def _captured(rule: dict[str, Any], found: re.Match[str]) -> Iterator[Token]:
        captures = rule.get("captures")
        if not captures:
            yield Token(found.group(), rule.get("name"), found.start())
            return
        position = found.start()
        for group in sorted(captures, key=int):
            index = int(group)
            if found.start(index) < 0:
                continue
            if found.start(index) > position:
                yield Token(
                    line_part(found, position, found.start(index)), rule.get("name"), position
                )
            yield Token(found.group(index), captures[group]["name"], found.start(index))
            position = found.end(index)
        if found.end() > position:
            yield Token(line_part(found, position, found.end()), rule.get("name"), position)


def line_part(found: re.Match[str], start: int, end: int) -> str:
    return found.string[start:end]
