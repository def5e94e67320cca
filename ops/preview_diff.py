"""What a changed mapping would change: one run's outputs against the new mapping's, per ERP record.

Both sides are the transform stage's own lines (runtime/stages/transform.py):
product-ready lines (`id`, `product`), rejection lines (`id`, `reason`) and
skip lines (`id`, `reason`), each with the `position` of the ERP record it
came from. Grouping by position pairs what one ERP record became in the run
with what it becomes now; within it, product records are matched by their
own ids, so the several records of a one-to-many mapping (`each line in`)
are compared one by one. Values are compared as the JSON the run store
holds: what the loader would send.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from contract import jsontext

SCHEMA_VERSION = 1
EXAMPLES_PER_FIELD = 3
EXIT_UNCHANGED, EXIT_CHANGED = 0, 3
NOT_PRODUCED = "not produced"

Line = Mapping[str, Any]


class _Absent:
    """A product field a record does not have (not the same as a field holding null)."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


@dataclass
class Produced:
    """What one ERP record became: product records and rejections by id, or a skip."""

    accepted: dict[str, Any] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    skip: tuple[str, str] | None = None
    """(record id, reason) when the mapping skipped the record."""

    def ids(self) -> list[str]:
        """Every product record id it accounts for, in the order first seen."""
        return list(dict.fromkeys([*self.accepted, *self.rejected]))

    def state(self, record_id: str) -> str:
        """`accepted`, `rejected: REASON` or `not produced`, for the report's `was` and `now`."""
        if record_id in self.accepted:
            return "accepted"
        if record_id in self.rejected:
            return f"rejected: {self.rejected[record_id]}"
        if self.skip is not None:
            return f"skipped: {self.skip[1]}"
        return NOT_PRODUCED


class Outputs:
    """The transform lines of a run (or of the preview), grouped by the ERP record's position."""

    def __init__(self) -> None:
        self.by_position: dict[str, Produced] = {}

    def _at(self, line: Line) -> Produced:
        position = line.get("position")
        key = str(position) if position is not None else f"id:{line.get('id')}"
        return self.by_position.setdefault(key, Produced())

    def ready(self, lines: Iterable[Line]) -> None:
        """Product-ready lines: the product record each canonical record became."""
        for line in lines:
            self._at(line).accepted[_text_id(line.get("id"))] = line.get("product")

    def rejected(self, lines: Iterable[Line]) -> None:
        """Rejection lines: a whole record, or one line of a one-to-many record."""
        for line in lines:
            self._at(line).rejected[_text_id(line.get("id"))] = str(line.get("reason"))

    def skipped(self, lines: Iterable[Line]) -> None:
        """Skip lines: records a `skip when` rule (or no line) left out."""
        for line in lines:
            self._at(line).skip = (_text_id(line.get("id")), str(line.get("reason")))


def _text_id(value: Any) -> str:
    return "(no id)" if value is None else str(value)


@dataclass(frozen=True)
class Example:
    """One product record's value of a field, before and after."""

    record_id: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        """`before`/`after` are left out when the record lacks the field."""
        shown: dict[str, Any] = {"id": self.record_id}
        if self.before is not ABSENT:
            shown["before"] = self.before
        if self.after is not ABSENT:
            shown["after"] = self.after
        return shown


@dataclass
class FieldChange:
    """How many product records a field changes on, with the first few as examples."""

    name: str
    count: int = 0
    examples: list[Example] = field(default_factory=list)

    def add(self, example: Example) -> None:
        """Count one more record, keeping it when examples are still wanted."""
        self.count += 1
        if len(self.examples) < EXAMPLES_PER_FIELD:
            self.examples.append(example)

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "field": self.name,
            "records": self.count,
            "examples": [e.to_json() for e in self.examples],
        }


Kind = Literal[
    "newly_rejected", "newly_accepted", "newly_skipped", "no_longer_skipped", "no_longer_produced"
]
KINDS: tuple[Kind, ...] = (
    "newly_rejected",
    "newly_accepted",
    "newly_skipped",
    "no_longer_skipped",
    "no_longer_produced",
)


@dataclass(frozen=True)
class Moved:
    """A record whose outcome the new mapping changes: what it was and what it is now."""

    kind: Kind
    record_id: str
    was: str
    now: str

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {"id": self.record_id, "was": self.was, "now": self.now}


@dataclass
class Comparison:
    """What the new mapping changes in a run's outputs."""

    erp_records: int = 0
    unchanged: int = 0
    changed: int = 0
    still_rejected: int = 0
    still_skipped: int = 0
    fields: dict[str, FieldChange] = field(default_factory=dict)
    moved: list[Moved] = field(default_factory=list)

    def of_kind(self, kind: Kind) -> list[Moved]:
        """The moved records of one kind, in the order found."""
        return [item for item in self.moved if item.kind == kind]

    @property
    def any_change(self) -> bool:
        """Whether a product record, a rejection or a skip would differ."""
        return bool(self.changed or self.moved)

    @property
    def exit_code(self) -> int:
        """0 when nothing changes, 3 when something does."""
        return EXIT_CHANGED if self.any_change else EXIT_UNCHANGED

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json` (the caller adds which run and which mapping)."""
        return {
            "changes": self.any_change,
            "erp_records": self.erp_records,
            "product_records": {
                "unchanged": self.unchanged,
                "changed": self.changed,
                "still_rejected": self.still_rejected,
            },
            "records_still_skipped": self.still_skipped,
            "fields": [change.to_json() for change in self.fields.values()],
            **{kind: [item.to_json() for item in self.of_kind(kind)] for kind in KINDS},
        }


def compare(before: Outputs, after: Outputs) -> Comparison:
    """Pair each ERP record's outputs in the run (`before`) with the new mapping's (`after`)."""
    result = Comparison()
    for position in dict.fromkeys([*after.by_position, *before.by_position]):
        result.erp_records += position in after.by_position
        _compare_record(
            before.by_position.get(position, Produced()),
            after.by_position.get(position, Produced()),
            result,
        )
    result.fields = dict(sorted(result.fields.items()))
    return result


def _compare_record(old: Produced, new: Produced, result: Comparison) -> None:
    """One ERP record: its skip, then each product record by id."""
    if new.skip is not None:
        if old.skip is not None:
            result.still_skipped += 1
        else:
            was = "; ".join(f"{i} {old.state(i)}" for i in old.ids()) or NOT_PRODUCED
            now = f"skipped: {new.skip[1]}"
            result.moved.append(Moved("newly_skipped", new.skip[0], was, now))
        return
    if old.skip is not None:
        now = "; ".join(f"{i} {new.state(i)}" for i in new.ids()) or NOT_PRODUCED
        result.moved.append(Moved("no_longer_skipped", old.skip[0], f"skipped: {old.skip[1]}", now))
    for record_id in dict.fromkeys([*old.ids(), *new.ids()]):
        _compare_product(record_id, old, new, result)


def _compare_product(record_id: str, old: Produced, new: Produced, result: Comparison) -> None:
    """One product record id of an ERP record: accepted both times (fields), or moved."""
    was, now = old.state(record_id), new.state(record_id)
    if record_id in old.accepted and record_id in new.accepted:
        changed = list(_changed_fields(old.accepted[record_id], new.accepted[record_id]))
        for name, before, after in changed:
            result.fields.setdefault(name, FieldChange(name)).add(Example(record_id, before, after))
        result.changed += bool(changed)
        result.unchanged += not changed
    elif record_id in new.accepted:
        result.moved.append(Moved("newly_accepted", record_id, was, now))
    elif record_id in new.rejected:
        if record_id in old.rejected:
            result.still_rejected += 1
        else:
            result.moved.append(Moved("newly_rejected", record_id, was, now))
    elif new.skip is None:
        result.moved.append(Moved("no_longer_produced", record_id, was, now))


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """A product record's fields by dotted path (`attributes.color`); lists stay whole."""
    if isinstance(value, Mapping) and (value or not prefix):
        for key, item in value.items():
            yield from flatten(item, f"{prefix}{key}.")
        return
    yield prefix.removesuffix("."), value


def _changed_fields(before: Any, after: Any) -> Iterator[tuple[str, Any, Any]]:
    """(field, before, after) for each field whose JSON differs (1 and true are not equal)."""
    old, new = dict(flatten(before)), dict(flatten(after))
    for name in dict.fromkeys([*old, *new]):
        was, now = old.get(name, ABSENT), new.get(name, ABSENT)
        if _json(was) != _json(now):
            yield name, was, now


def _json(value: Any) -> str | None:
    return None if value is ABSENT else jsontext.dumps(value, sort_keys=True)
