"""Lowering: a checked `ir.Mapping` -> the plan the templates render.

This is where code-shape decisions are made (names of generated variables and
constants, which helpers and imports a module needs, how a pipeline nests
after `empty_to_missing`), so that the templates only loop and branch. Every
name made here is an `Ident`; everything else reaches the templates as data
for the `py` filter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from compiler import expr_ir, ir
from compiler.filters import Ident
from compiler.helpers import closure, imports_for
from compiler.lower_expr import Code, ExprLowering
from compiler.values import check_reason, in_run_order
from compiler.version import COMPILER_VERSION

_CONVERTERS = {
    "string": "_text",
    "int": "_to_int",
    "decimal": "_to_decimal",
    "bool": "_to_bool",
    "date": "_to_date",
    "datetime": "_to_datetime",
}
_FAILING_OP = {">=": "<", ">": "<=", "<=": ">", "<": ">="}
# A column's type -> the prelude helper that reads it for expressions.
_COLUMN_READERS = {
    "string": "_text",
    "int": "_to_int",
    "decimal": "_to_decimal",
    "bool": "_to_bool",
    "date": "_date_value",
    "datetime": "_datetime_value",
}
# A column's type -> the class a value read already has when its reader would return it as is
# (the generated read skips the call for it).
_COLUMN_EXACT = {"string": "str", "int": "int", "bool": "bool"}
ConstKind = Literal["regex", "re2", "re2_groups", "lookup", "set", "zone", "decimal"]


@dataclass(frozen=True, slots=True)
class Const:
    """A module-level constant: a compiled regex, a lookup table, a value set, the time zone."""

    name: Ident
    kind: ConstKind
    value: object
    line: int | None


@dataclass(frozen=True, slots=True)
class Op:
    """One step on a text value `v`; `const` names its regex or table, `reason` its failure."""

    kind: Literal["strip", "upper", "lower", "strip_zeros", "pad", "replace", "lookup", "format"]
    args: tuple[object, ...] = ()
    const: Ident | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Block:
    """Steps in order; `rest` runs after an `empty_to_missing`, only if the value is not empty."""

    ops: tuple[Op, ...]
    rest: Block | None


@dataclass(frozen=True, slots=True)
class CheckPlan:
    """A check as a failing condition on `v` and the reason an issue gives."""

    kind: Literal["matches", "validator", "compare", "range", "length", "in"]
    reason: str
    const: Ident | None = None
    helper: Ident | None = None
    op: str = ""
    low: object = None
    high: object = None


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One read field. `reads` are its sources in turn: a key (`get`), or a path (`_get_path`);
    `guarded` puts the reads inside the field's `try`, since a path can meet a non-object."""

    var: Ident
    field: ir.Field
    steps: Block | None
    convert: str
    converter: Ident
    checks: tuple[CheckPlan, ...]
    missing: Literal["default", "required", "null"]
    reads: tuple[str | tuple[str, ...], ...] = ()
    guarded: bool = False
    expr: Code | None = None
    columns: tuple[Ident, ...] = ()


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """A column read once per record into `var`: its key or path, its reader, its line.

    A value that cannot be read is kept as an `_Invalid` whose reason starts with
    `prefix` (the column's name), raised where a field or rule uses it."""

    var: Ident
    key: str
    path: tuple[str, ...] | None
    reader: Ident
    prefix: str
    line: int
    exact: Ident | None = None


@dataclass(frozen=True, slots=True)
class RulePlan:
    """A record rule: its condition's code, the columns it reads, what its issue says."""

    code: Code
    columns: tuple[Ident, ...]
    file: str
    line: int
    reason: str
    action: Literal["skip", "reject"]
    failed: str


@dataclass(frozen=True, slots=True)
class LineObject:
    """One `{key: expr, ...}` of `each VAR in {...}, {...}`: each key's code, the columns read."""

    values: tuple[tuple[str, Code], ...]
    columns: tuple[Ident, ...]


@dataclass(frozen=True, slots=True)
class EachPlan:
    """One-to-many: where the lines come from and how a line's issues name it.

    `array` is the path of an array of objects (`each VAR in ARRAY`), `objects`
    the lines written out (`each VAR in {...}, ...`); `line_keys` the variables
    the line function fills from a written line; `id_var` holds a line's id once
    computed; `record_id_sources` name the record when a line has no id.
    """

    line: int
    array: tuple[str, ...] | None
    objects: tuple[LineObject, ...]
    line_keys: tuple[tuple[Ident, str], ...]
    rules: tuple[RulePlan, ...]
    id_var: Ident
    record_id_sources: tuple[str, ...]
    columns: tuple[ColumnPlan, ...]  # the record's columns `map_record` reads (rules, lines)


@dataclass(frozen=True, slots=True)
class Entry:
    """One key of the canonical record: a generated variable, or a constant's value."""

    canonical: str
    var: Ident | None
    value: object


@dataclass(frozen=True, slots=True)
class Target:
    """A product key a canonical field writes; `out` converts the value (`as number`),
    `always` writes it even when missing (null) instead of leaving it out."""

    canonical: str
    path: tuple[str, ...]
    line: int
    out: Ident | None = None
    always: bool = False


@dataclass(frozen=True, slots=True)
class ModulePlan:
    mapping: ir.Mapping
    compiler_version: str
    meta: dict[str, object]
    fields_meta: tuple[dict[str, object], ...]
    imports: tuple[str, ...]
    helpers: tuple[str, ...]
    consts: tuple[Const, ...]
    every: Block | None
    fields: tuple[FieldPlan, ...]
    entries: tuple[Entry, ...]
    id_sources: tuple[str, ...]
    id_paths: tuple[tuple[str, ...], ...] | None
    top_targets: tuple[Target, ...]
    nested_targets: tuple[Target, ...]
    zone: Ident | None
    columns: tuple[ColumnPlan, ...] = ()
    rules: tuple[RulePlan, ...] = ()
    reads_keys: bool = True  # some field or column reads a top-level key with `get`
    each: EachPlan | None = None
    line_columns: tuple[ColumnPlan, ...] = ()


class _Lowering:
    """Walks one mapping, naming constants and collecting the helpers and imports it needs."""

    def __init__(self, mapping: ir.Mapping) -> None:
        self.mapping = mapping
        self.consts: list[Const] = []
        self.helpers: set[str] = {"_Invalid", "_issue", "_record_id"}
        self.imports: set[str] = set()
        self._regexes: dict[str, Ident] = {}
        self._re2: dict[str, Ident] = {}
        self._lookups: dict[str, Ident] = {}
        self._expr_consts: dict[tuple[str, str], Ident] = {}
        self.zone: Ident | None = None
        self.column_vars: dict[str, Ident] = {}
        self.expressions = ExprLowering(
            self.column_vars, self.helpers, self.imports, self.expr_const, self.mapping_zone
        )

    def mapping_zone(self) -> Ident:
        """The constant holding the mapping's `timezone`, made when first needed."""
        if self.zone is None:
            self.helpers.add("_zone")
            self.zone = self._const("ZONE", "zone", self.mapping.timezone, None)
        return self.zone

    def expr_const(self, kind: str, value: object) -> Ident:
        """A constant an expression needs (a `replace_regex` regex, a `to_utc` zone, a decimal
        literal), made once. Keyed by repr: `1.0` and `1` are equal Decimals of other digits."""
        key = (kind, repr(value))
        if key not in self._expr_consts:
            if kind != "decimal":
                self.helpers.add("_regex_groups" if kind == "re2_groups" else "_zone")
            prefix = {"re2_groups": "RE", "decimal": "DEC"}.get(kind, "ZONE")
            made = self._const(prefix, kind, value, None)  # type: ignore[arg-type]
            self._expr_consts[key] = made
        return self._expr_consts[key]

    def column(self, index: int, column: expr_ir.Column) -> ColumnPlan:
        """A record column read for expressions, into `k_INDEX`."""
        var = Ident(f"k_{index}")
        self.column_vars[column.name] = var
        reader = _COLUMN_READERS[column.type]
        self.helpers.update(("_text", reader))
        if column.path is not None:
            self.helpers.add("_get_path")
        exact = _COLUMN_EXACT.get(column.type)
        return ColumnPlan(
            var,
            column.key,
            column.path,
            Ident(reader),
            f"column {column.name} ",
            column.line,
            None if exact is None else Ident(exact),
        )

    def rule(self, rule: ir.Rule, id_sources: tuple[str, ...]) -> RulePlan:
        self.helpers.add("_rule_issue")
        columns = tuple(self.column_vars[name] for name in expr_ir.columns_of(rule.condition))
        reason = rule.text if rule.kind == "skip" else (rule.message or "")
        failed = f"cannot decide `{rule.text}`: "
        return RulePlan(
            self.expressions.emit_condition(rule.condition),
            columns,
            rule.file,
            rule.line,
            reason,
            rule.kind,
            failed,
        )

    def _const(
        self,
        prefix: str,
        kind: ConstKind,
        value: object,
        line: int | None,
    ) -> Ident:
        name = Ident(f"_{prefix}_{len(self.consts) + 1}")
        self.consts.append(Const(name, kind, value, line))
        return name

    def regex(self, pattern: str, line: int) -> Ident:
        if pattern not in self._regexes:
            self.imports.add("re")
            self._regexes[pattern] = self._const("RE", "regex", pattern, line)
        return self._regexes[pattern]

    def re2(self, pattern: str, line: int) -> Ident:
        """A `check matches` regex: compiled by RE2, so it runs in linear time."""
        if pattern not in self._re2:
            self.helpers.update(("_regex", "_full_match"))
            self._re2[pattern] = self._const("RE", "re2", pattern, line)
        return self._re2[pattern]

    def lookup(self, step: ir.LookupStep, line: int) -> Ident:
        if step.table not in self._lookups:
            self._lookups[step.table] = self._const("LOOKUP", "lookup", dict(step.entries), line)
        return self._lookups[step.table]

    def op(self, step: ir.Step, line: int) -> Op:
        if isinstance(step, ir.SimpleStep):
            kind = {
                "trim": "strip",
                "upper": "upper",
                "lower": "lower",
                "strip_zeros": "strip_zeros",
            }[step.name]
            return Op(kind)  # type: ignore[arg-type]
        if isinstance(step, ir.PadStep):
            return Op("pad", (step.width, step.char))
        if isinstance(step, ir.ReplaceStep):
            return Op("replace", (step.old, step.new))
        if isinstance(step, ir.LookupStep):
            reason = f"is not a code of lookup {step.table}"
            return Op("lookup", (step.keep,), self.lookup(step, line), reason)
        reason = f"does not have the shape {json.dumps(step.shape, ensure_ascii=False)}"
        return Op("format", step.output, self.regex(step.pattern, line), reason)

    def block(self, steps: tuple[ir.Step, ...], line: int) -> Block:
        """Steps as nested blocks: each `empty_to_missing` starts the next one."""
        ops: list[Op] = []
        for index, step in enumerate(steps):
            if isinstance(step, ir.SimpleStep) and step.name == "empty_to_missing":
                return Block(tuple(ops), self.block(steps[index + 1 :], line))
            ops.append(self.op(step, line))
        return Block(tuple(ops), None)

    def check(self, check: ir.Check, line: int) -> CheckPlan:
        reason = check_reason(check)
        if isinstance(check, ir.MatchesCheck):
            return CheckPlan("matches", reason, const=self.re2(check.pattern, line))
        if isinstance(check, ir.ValidatorCheck):
            helper = f"_{check.name}"
            self.helpers.add(helper)
            return CheckPlan("validator", reason, helper=Ident(helper))
        if isinstance(check, ir.CompareCheck):
            self._number(check.bound)
            return CheckPlan("compare", reason, op=_FAILING_OP[check.op], low=check.bound)
        if isinstance(check, ir.RangeCheck):
            self._number(check.low)
            self._number(check.high)
            return CheckPlan("range", reason, low=check.low, high=check.high)
        if isinstance(check, ir.LengthCheck):
            return CheckPlan("length", reason, low=check.low, high=check.high)
        values = frozenset(check.values)
        return CheckPlan("in", reason, const=self._const("IN", "set", values, line))

    def _number(self, value: int | Decimal) -> None:
        if isinstance(value, Decimal):
            self.imports.add("Decimal")

    def expression_field(self, index: int, field: ir.Field) -> FieldPlan:
        """A field computed by an expression: its code and the columns it reads."""
        assert field.expression is not None
        code = self.expressions.emit(field.expression)
        used = expr_ir.columns_of(field.expression)
        columns = tuple(self.column_vars[name] for name in used if name in self.column_vars)
        convert: str = field.type
        if field.type == "decimal":
            # an expression's decimal is a Decimal already (an int one is converted)
            convert = "decimal_value"
            self.imports.add("Decimal")
        elif field.type == "date":
            convert = "date_value"
        elif field.type == "datetime":
            convert = "datetime_value"
            self.helpers.add("_moment")
            self.mapping_zone()
        plan = self.field(index, field, reads=False)
        return FieldPlan(
            plan.var,
            field,
            None,
            convert,
            plan.converter,
            plan.checks,
            plan.missing,
            expr=code,
            columns=columns,
        )

    def field(self, index: int, field: ir.Field, *, reads: bool = True) -> FieldPlan:
        steps = self.block(field.steps, field.line) if field.steps else None
        self.helpers.add("_text")
        converter = _CONVERTERS[field.type]
        if reads or field.type not in ("date", "datetime"):
            self.helpers.add(converter)
        if field.type == "decimal":
            self.helpers.add("_decimal_text")
            if field.policy == "warn":
                self.imports.add("Decimal")
        checks = tuple(self.check(check, field.line) for check in in_run_order(field.checks))
        missing: Literal["default", "required", "null"] = "null"
        if field.has_default:
            missing = "default"
        elif field.required:
            missing = "required"
        read_order = reads_of(field)
        guarded = any(isinstance(read, tuple) for read in read_order)
        if guarded:
            self.helpers.add("_get_path")
        return FieldPlan(
            Ident(f"c_{index}"),
            field,
            steps,
            field.type,
            Ident(converter),
            checks,
            missing,
            reads=read_order,
            guarded=guarded,
        )

    def target(self, field: ir.Field) -> Target:
        """Where a field goes in the product record, and how its value is written there."""
        assert field.target is not None
        out = None
        if field.type == "decimal" and field.number_out == "number":
            self.helpers.add("_number_out")
            out = Ident("_number_out")
        always = field.on_missing == "null" if len(field.target) > 1 else field.on_missing != "omit"
        return Target(field.canonical, field.target, field.line, out, always)


def reads_of(field: ir.Field) -> tuple[str | tuple[str, ...], ...]:
    """Each source as a key to `get`, or a path of several keys for `_get_path`."""
    paths = field.source_paths or tuple((source,) for source in field.sources)
    return tuple(path[0] if len(path) == 1 else path for path in paths)


def _id_paths(mapping: ir.Mapping) -> tuple[tuple[str, ...], ...] | None:
    """The id's source paths when one of them is a dotted path (else `id_sources` serve)."""
    paths = mapping.id_field.source_paths
    return paths if any(len(path) > 1 for path in paths) else None


def _fields_meta(mapping: ir.Mapping) -> tuple[dict[str, object], ...]:
    return tuple(
        {
            "canonical": field.canonical,
            "type": field.type,
            "required": field.required,
            "sources": field.sources,
            "target": None if field.target is None else ".".join(field.target),
            "file": field.file,
            "line": field.line,
        }
        for field in mapping.fields
    )


def lower(mapping: ir.Mapping) -> ModulePlan:
    """The render plan of one mapping."""
    lowering = _Lowering(mapping)
    if any(
        field.type == "datetime" and not field.is_constant and field.expression is None
        for field in mapping.fields
    ):
        lowering.mapping_zone()
    every = lowering.block(mapping.every_string, 0) if mapping.every_string else None
    used = {
        name
        for expr in (
            *(rule.condition for rule in mapping.rules),
            *(field.expression for field in mapping.fields if field.expression is not None),
        )
        for name in expr_ir.columns_of(expr)
    }
    each = mapping.each
    if each is not None:
        used |= {
            name for line in each.objects for _, expr in line for name in expr_ir.columns_of(expr)
        }
    columns = tuple(
        lowering.column(mapping.columns.index(column) + 1, column)
        for column in _record_columns(mapping, used)
    )
    line_columns = tuple(
        lowering.column(index, column)
        for index, column in enumerate(mapping.columns, start=1)
        if column.name in used and column.element
    )
    rules = tuple(lowering.rule(rule, mapping.id_field.sources) for rule in mapping.rules)
    in_fields = {
        name
        for field in mapping.fields
        if field.expression is not None
        for name in expr_ir.columns_of(field.expression)
    }
    line_keys: tuple[tuple[Ident, str], ...] = ()
    if each is not None and each.objects:
        line_keys = tuple(
            (Ident(f"k_{len(mapping.columns) + number}"), key)
            for number, (key, _) in enumerate(each.objects[0], start=1)
        )
        for var, key in line_keys:
            lowering.column_vars[f"{each.var}.{key}"] = var
        # a key no field reads is not read from the line (no unused variable in the module)
        line_keys = tuple((var, key) for var, key in line_keys if f"{each.var}.{key}" in in_fields)
    fields: list[FieldPlan] = []
    entries: list[Entry] = []
    for index, field in enumerate(mapping.fields, start=1):
        if field.is_constant:
            entries.append(Entry(field.canonical, None, field.constant))
        elif field.expression is not None:
            plan = lowering.expression_field(index, field)
            fields.append(plan)
            entries.append(Entry(field.canonical, plan.var, None))
        else:
            plan = lowering.field(index, field)
            fields.append(plan)
            entries.append(Entry(field.canonical, plan.var, None))
    targets = [lowering.target(f) for f in mapping.fields if f.target is not None]
    id_paths = _id_paths(mapping)
    if id_paths is not None:
        lowering.helpers.add("_record_id_at")
    each_plan = None if each is None else _each_plan(lowering, each, rules, line_keys, columns)
    if each_plan is not None:
        columns = tuple(
            plan
            for plan, column in zip(columns, _record_columns(mapping, used), strict=True)
            if column.name in in_fields
        )
        lowering.helpers.update(("_rule_issue", "_line_id", "_kind"))
        if each_plan.array is not None:
            lowering.helpers.update(("_get_path", "_lines"))
        rules = ()
    helpers = closure(lowering.helpers)
    meta: dict[str, object] = {
        "name": mapping.name,
        "product_type": mapping.product_type,
        "version": mapping.version,
        "source": mapping.source.path,
        "source_sha256": mapping.source.sha256,
        "bases": tuple({"source": base.path, "sha256": base.sha256} for base in mapping.bases),
        "compiler_version": COMPILER_VERSION,
    }
    return ModulePlan(
        mapping=mapping,
        compiler_version=COMPILER_VERSION,
        meta=meta,
        fields_meta=_fields_meta(mapping),
        imports=imports_for(helpers, lowering.imports),
        helpers=helpers,
        consts=tuple(lowering.consts),
        every=every,
        fields=tuple(fields),
        entries=tuple(entries),
        id_sources=tuple(r for r in reads_of(mapping.id_field) if isinstance(r, str)),
        id_paths=id_paths,
        top_targets=tuple(t for t in targets if len(t.path) == 1 and t.always),
        nested_targets=tuple(t for t in targets if len(t.path) > 1 or not t.always),
        zone=lowering.zone,
        columns=columns,
        rules=rules,
        reads_keys=any(plan.field.sources for plan in fields)
        or any(column.path is None for column in columns),
        each=each_plan,
        line_columns=line_columns,
    )


def _record_columns(mapping: ir.Mapping, used: set[str]) -> list[expr_ir.Column]:
    """The record's own columns (not an `each` element's) that some expression reads."""
    return [c for c in mapping.columns if c.name in used and not c.element]


def _each_plan(
    lowering: _Lowering,
    each: ir.Each,
    rules: tuple[RulePlan, ...],
    line_keys: tuple[tuple[Ident, str], ...],
    columns: tuple[ColumnPlan, ...],
) -> EachPlan:
    """How `map_record` makes the lines; the record's rules move there (they run once)."""
    mapping = lowering.mapping
    needed = {var for rule in rules for var in rule.columns}
    objects = tuple(
        LineObject(
            tuple((key, lowering.expressions.emit(expr)) for key, expr in line),
            tuple(
                lowering.column_vars[name]
                for name in dict.fromkeys(n for _, e in line for n in expr_ir.columns_of(e))
            ),
        )
        for line in each.objects
    )
    needed |= {var for line in objects for var in line.columns}
    id_field = mapping.id_field
    index = mapping.fields.index(id_field) + 1
    names = expr_ir.columns_of(id_field.expression) if id_field.expression is not None else ()
    by_name = {column.name: column for column in mapping.columns}
    record_sources = tuple(
        by_name[name].key
        for name in names
        if name in by_name and not by_name[name].element and by_name[name].path is None
    )
    return EachPlan(
        each.line,
        each.array,
        objects,
        line_keys,
        rules,
        Ident(f"c_{index}"),
        record_sources,
        tuple(plan for plan in columns if plan.var in needed),
    )
