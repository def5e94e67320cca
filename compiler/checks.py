"""Checks: a parsed `.map` file (and the files it extends) -> a resolved `ir.Mapping`.

All problems of all files involved are collected and raised together as one
MapError; nothing downstream ever sees a mapping that did not pass.

Stages, each a small function: load the `extends` chain (cycles refused),
check each file's own statements, merge the chain from the base down, resolve
every merged field against the field's type, then mapping-wide rules (the id
field, product targets, examples).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import tzinfo
from zoneinfo import ZoneInfo, available_timezones

from compiler import field_output, ir, lints
from compiler.clauses import resolve_check, resolve_steps
from compiler.expr_ir import columns_of
from compiler.expressions import Typer, accepts
from compiler.language_version import SUPPORTED_VERSIONS, file_version, require_version_2
from compiler.names import (
    CANONICAL_FIELDS,
    CUSTOM_PREFIX,
    DEFAULT_TIMEZONE,
    ID_FIELD,
    POLICIES,
    TYPE_ALIASES,
    known_list,
)
from compiler.problems import Problems
from compiler.scope import Scope, resolve_rules, resolve_scope
from compiler.sources import LoadedFile, RefusedBase
from compiler.values import LiteralTypeError, canonical_literal, failed_check, in_run_order
from dsl import ast
from dsl.diagnostics import Diagnostic, Findings, MapError, in_source_order
from dsl.formatter import literal_text
from dsl.suggest import did_you_mean
from dsl.type_names import TYPE_NAMES as TYPES

BaseLoader = Callable[[LoadedFile, str], LoadedFile]
_MAPPING_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_START = ast.Span(1, 1, 1, 2)
_EMPTY = "this file has no statements: a mapping starts with `version 1`"


# --- the files involved ------------------------------------------------------------


def _mapping_stmt(file: LoadedFile) -> ast.MappingStmt | None:
    return next((s for s in file.ast.statements if isinstance(s, ast.MappingStmt)), None)


def load_chain(file: LoadedFile, load_base: BaseLoader, problems: Problems) -> list[LoadedFile]:
    """The file and every file it extends, base first; a cycle or unreadable base is reported.

    Public for the editor tooling, which follows `extends` the way the checks do.
    """
    chain = [file]
    current = file
    while True:
        mapping = _mapping_stmt(current)
        if mapping is None or mapping.extends is None:
            break
        target = mapping.extends.value
        path = current.ast.path
        if not isinstance(target, str):
            problems.error(path, mapping.extends.span, "`extends` takes a file name in quotes")
            break
        try:
            base = load_base(current, target)
        except RefusedBase as exc:
            problems.error(path, mapping.extends.span, exc.message, exc.hint)
            break
        except MapError as exc:
            problems.extend(exc)
            break
        except OSError as exc:
            reason = exc.strerror or str(exc)
            problems.error(
                path, mapping.extends.span, f"cannot read the base file {target!r}: {reason}"
            )
            break
        if any(seen.key == base.key for seen in chain):
            cycle = " -> ".join([*(seen.ast.path for seen in chain), base.ast.path])
            problems.error(path, mapping.extends.span, f"`extends` makes a cycle: {cycle}")
            break
        problems.add_source(base.ast.path, base.ast.source)
        chain.append(base)
        current = base
    return list(reversed(chain))


# --- one file's own statements ------------------------------------------------------


@dataclass
class _FileInfo:
    """What one file says, once its statements are checked on their own."""

    file: LoadedFile
    mapping: ast.MappingStmt | None = None
    timezone: ast.TimezoneStmt | None = None
    every: ast.EveryStringStmt | None = None
    lookups: list[tuple[ast.LookupStmt, tuple[tuple[str, str], ...]]] = field(default_factory=list)
    fields: list[ast.FieldStmt | ast.RemoveStmt] = field(default_factory=list)
    examples: list[ast.Example] = field(default_factory=list)
    columns: list[ast.ColumnStmt] = field(default_factory=list)
    rules: list[ast.RuleStmt] = field(default_factory=list)
    eaches: list[ast.EachStmt] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.file.ast.path

    @property
    def extends(self) -> bool:
        return self.mapping is not None and self.mapping.extends is not None


def _check_version(statements: tuple[ast.Statement, ...], path: str, problems: Problems) -> None:
    versions = [s for s in statements if isinstance(s, ast.VersionStmt)]
    if not versions:
        problems.error(
            path,
            statements[0].span if statements else _START,
            "missing `version 1`: it must be the first statement",
        )
        return
    first = versions[0]
    if statements[0] is not first:
        problems.error(path, first.span, "`version` must be the first statement of the file")
    for extra in versions[1:]:
        problems.error(path, extra.span, "`version` is given more than once")
    value = first.version.value
    if isinstance(value, bool) or value not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        problems.error(
            path,
            first.version.span,
            f"unsupported version {literal_text(value)}",
            f"this compiler reads version {supported}",
        )


def _check_mapping(info: _FileInfo, problems: Problems) -> None:
    statements = info.file.ast.statements
    mappings = [s for s in statements if isinstance(s, ast.MappingStmt)]
    if not mappings:
        problems.error(
            info.path,
            statements[0].span if statements else _START,
            'missing `mapping NAME for PRODUCT` (or `mapping NAME extends "FILE.map"`)',
        )
        return
    info.mapping = mappings[0]
    for extra in mappings[1:]:
        problems.error(info.path, extra.span, "`mapping` is given more than once")
    name = info.mapping.name
    if not _MAPPING_NAME.fullmatch(name.text):
        problems.error(
            info.path,
            name.span,
            f"invalid mapping name `{name.text}`",
            "use lowercase letters, digits, `-` and `_`, starting with a letter or digit",
        )


def _zone(literal: ast.Literal, path: str, problems: Problems) -> tzinfo | None:
    """The time zone a `timezone` literal names, or None after reporting it."""
    name = literal.value
    if not isinstance(name, str):
        problems.error(
            path, literal.span, '`timezone` takes a zone name in quotes, e.g. "America/Bogota"'
        )
        return None
    try:
        return ZoneInfo(name)
    except Exception:  # ZoneInfo raises several kinds for a bad key; all mean "unknown"
        zones = {zone.lower(): zone for zone in available_timezones()}
        hint = (
            f"did you mean `{zones[name.lower()]}`?"
            if name.lower() in zones
            else did_you_mean(name, zones.values())
        )
        problems.error(path, literal.span, f"unknown time zone {name!r}", hint)
        return None


def _check_lookup(
    stmt: ast.LookupStmt, path: str, problems: Problems
) -> tuple[tuple[str, str], ...]:
    entries: dict[str, str] = {}
    for entry in stmt.entries:
        key, value = entry.key.value, entry.value.value
        if not isinstance(key, str):
            problems.error(path, entry.key.span, "lookup codes are strings", f'write "{key}"')
        elif not isinstance(value, str):
            problems.error(
                path,
                entry.value.span,
                "lookup values are strings (steps work on text; the field's type converts it)",
            )
        elif key in entries:
            problems.error(
                path,
                entry.key.span,
                f"code {literal_text(key)} is listed twice in lookup `{stmt.name.text}`",
            )
        else:
            entries[key] = value
    return tuple(entries.items())


def _check_file(file: LoadedFile, problems: Problems) -> _FileInfo:
    """Statement-level rules of one file: header, duplicates, what may appear where."""
    info = _FileInfo(file)
    path = info.path
    statements = file.ast.statements
    if not statements:
        problems.error(path, _START, _EMPTY)
        return info
    _check_version(statements, path, problems)
    _check_mapping(info, problems)
    lookup_names: dict[str, int] = {}
    field_lines: dict[str, int] = {}
    version = file_version(statements)
    for stmt in statements:
        _check_version_2(stmt, version, path, problems)
        if isinstance(stmt, ast.ColumnStmt):
            info.columns.append(stmt)
        elif isinstance(stmt, ast.RuleStmt):
            info.rules.append(stmt)
        elif isinstance(stmt, ast.EachStmt):
            info.eaches.append(stmt)
        elif isinstance(stmt, ast.TimezoneStmt):
            if info.timezone is not None:
                problems.error(path, stmt.span, "`timezone` is given more than once")
            else:
                info.timezone = stmt
                _zone(stmt.zone, path, problems)
        elif isinstance(stmt, ast.EveryStringStmt):
            if info.every is not None:
                problems.error(
                    path,
                    stmt.span,
                    "`every string` is given more than once",
                    "put all the steps on one line",
                )
            else:
                info.every = stmt
        elif isinstance(stmt, ast.LookupStmt):
            name = stmt.name.text
            if name in lookup_names:
                problems.error(
                    path,
                    stmt.name.span,
                    f"lookup `{name}` is declared twice",
                    f"first declared on line {lookup_names[name]}",
                )
            else:
                lookup_names[name] = stmt.span.line
                info.lookups.append((stmt, _check_lookup(stmt, path, problems)))
        elif isinstance(stmt, ast.FieldStmt | ast.RemoveStmt):
            _check_field_stmt(stmt, info, version, field_lines, problems)
        elif isinstance(stmt, ast.Example):
            info.examples.append(stmt)
    return info


def _check_version_2(stmt: ast.Statement, version: int, path: str, problems: Problems) -> None:
    """Version 2 constructs in a `version 1` file are errors, each at its own place."""
    if isinstance(stmt, ast.ColumnStmt):
        require_version_2("`column`", version, path, stmt.span, problems)
    elif isinstance(stmt, ast.RuleStmt):
        require_version_2(f"`{stmt.kind} when`", version, path, stmt.span, problems)
    elif isinstance(stmt, ast.EachStmt):
        require_version_2("`each`", version, path, stmt.span, problems)
    elif isinstance(stmt, ast.FieldStmt) and stmt.expression is not None:
        require_version_2("an expression", version, path, stmt.expression.span, problems)
    elif isinstance(stmt, ast.Example):
        if stmt.expect_skip is not None:
            require_version_2("`expect skip`", version, path, stmt.expect_skip, problems)
        if stmt.expect_products is not None:
            span = stmt.expect_products.span
            require_version_2("`expect products`", version, path, span, problems)


def _check_canonical(name: ast.Name, path: str, problems: Problems) -> bool:
    text = name.text
    if text in CANONICAL_FIELDS:
        return True
    if text.startswith(CUSTOM_PREFIX) and len(text) > len(CUSTOM_PREFIX):
        return True
    close = did_you_mean(text, CANONICAL_FIELDS)
    custom = f"a custom field is written `custom:{text}`"
    if close is not None:
        hint = f"{close} ({custom})"
    else:
        hint = f"canonical fields: {known_list(CANONICAL_FIELDS)}; {custom}"
    problems.error(path, name.span, f"unknown canonical field `{text}`", hint)
    return False


def _check_field_stmt(
    stmt: ast.FieldStmt | ast.RemoveStmt,
    info: _FileInfo,
    version: int,
    field_lines: dict[str, int],
    problems: Problems,
) -> None:
    path = info.path
    name = stmt.name
    if isinstance(stmt, ast.FieldStmt):
        field_output.check_statement(stmt, version, path, problems)
    if isinstance(stmt, ast.RemoveStmt) or stmt.kind == "override":
        if not info.extends:
            word = "remove" if isinstance(stmt, ast.RemoveStmt) else "override"
            problems.error(
                path,
                stmt.span,
                f"`{word}` is only allowed in a file that `extends` another",
                f"define the field with `field {name.text} ...`",
            )
            return
        info.fields.append(stmt)
        return
    _check_canonical(name, path, problems)  # reported; the rest of the field is still checked
    if name.text in field_lines:
        problems.error(
            path,
            name.span,
            f"duplicate field `{name.text}`",
            f"first defined on line {field_lines[name.text]}",
        )
        return
    field_lines[name.text] = stmt.span.line
    info.fields.append(stmt)


# --- merging the chain ------------------------------------------------------------


@dataclass
class _Merged:
    """A field as the chain builds it: its `field` statement and the overrides after it."""

    statements: list[tuple[ast.FieldStmt, str]]

    def last(self, attribute: str) -> tuple[ast.FieldStmt, str] | None:
        """The latest statement (and its file) that wrote the clause `attribute`."""
        for stmt, path in reversed(self.statements):
            value = getattr(stmt, attribute)
            if attribute == "sources":
                if value or stmt.constant is not None or stmt.expression is not None:
                    return stmt, path
            elif value is not None:
                return stmt, path
        return None


@dataclass
class _Settings:
    zone_name: str = DEFAULT_TIMEZONE
    zone: tzinfo | None = None
    every: tuple[ast.EveryStringStmt, str] | None = None
    lookups: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    lookup_statements: list[tuple[ast.LookupStmt, str]] = field(default_factory=list)
    recorded_paths: dict[str, str] = field(default_factory=dict)  # shown path -> root-relative


def _merge(chain: list[_FileInfo], problems: Problems) -> tuple[_Settings, dict[str, _Merged]]:
    settings = _Settings()
    merged: dict[str, _Merged] = {}
    for info in chain:
        settings.recorded_paths[info.path] = info.file.rel_path
        if info.timezone is not None and isinstance(info.timezone.zone.value, str):
            settings.zone_name = info.timezone.zone.value
        if info.every is not None:
            settings.every = (info.every, info.path)
        for stmt, entries in info.lookups:
            settings.lookups[stmt.name.text] = entries
            settings.lookup_statements.append((stmt, info.path))
        for item in info.fields:
            _merge_field(item, info, merged, problems)
    try:
        settings.zone = ZoneInfo(settings.zone_name)
    except Exception:  # already reported where the zone was written
        settings.zone = None
    return settings, merged


def _merge_field(
    item: ast.FieldStmt | ast.RemoveStmt,
    info: _FileInfo,
    merged: dict[str, _Merged],
    problems: Problems,
) -> None:
    name = item.name.text
    path = info.path
    base = merged.get(name)
    if isinstance(item, ast.RemoveStmt):
        if name == ID_FIELD:
            problems.error(
                path,
                item.name.span,
                "the `id` field cannot be removed",
                "every record needs its id; `override id` to read it elsewhere",
            )
        elif base is None:
            problems.error(
                path,
                item.name.span,
                f"`remove {name}`: the base has no field `{name}`",
                did_you_mean(name, merged),
            )
        else:
            del merged[name]
        return
    if item.kind == "override":
        if base is None:
            problems.error(
                path,
                item.name.span,
                f"`override {name}`: the base has no field `{name}`",
                did_you_mean(name, merged) or f"to add a field, write `field {name} ...`",
            )
        else:
            base.statements.append((item, path))
        return
    if base is not None and base.statements[0][1] != path:
        first, first_path = base.statements[0]
        problems.error(
            path,
            item.name.span,
            f"`{name}` is already a field of {first_path} (line {first.span.line})",
            f"change it with `override {name} ...`",
        )
        return
    merged[name] = _Merged([(item, path)])


# --- one field --------------------------------------------------------------------


def _resolve_type(merged: _Merged, problems: Problems) -> ir.TypeName | None:
    found = merged.last("type")
    if found is None or found[0].type is None:
        stmt, path = merged.statements[0]
        problems.error(path, stmt.name.span, f"field `{stmt.name.text}` has no type")
        return None
    stmt, path = found
    assert stmt.type is not None
    text = stmt.type.text
    if text not in TYPES:
        hint = did_you_mean(text, TYPES, TYPE_ALIASES) or f"types: {known_list(TYPES)}"
        problems.error(path, stmt.type.span, f"unknown type `{text}`", hint)
        return None
    return text


def _resolve_policy(merged: _Merged, required: bool, problems: Problems) -> ir.Policy | None:
    found = merged.last("policy")
    if found is None:
        return "reject"
    stmt, path = found
    assert stmt.policy is not None
    text = stmt.policy.text
    if text not in POLICIES:
        hint = did_you_mean(text, POLICIES) or f"policies: {known_list(POLICIES)}"
        problems.error(path, stmt.policy.span, f"unknown policy `{text}`", hint)
        return None
    if text == "drop" and required:
        problems.error(
            path,
            stmt.policy.span,
            f"field `{stmt.name.text}` is required, so it cannot be dropped",
            "use `on invalid reject` or `warn`, or make the field optional",
        )
        return None
    return text  # type: ignore[return-value]


def _literal_value(
    literal: ast.Literal,
    path: str,
    type_name: ir.TypeName,
    what: str,
    settings: _Settings,
    problems: Problems,
) -> tuple[bool, ir.CanonicalValue]:
    """A default or constant as a canonical value; (False, None) when it is not one."""
    if literal.value is None:
        hint = "leave `default` out" if what == "default" else None
        problems.error(path, literal.span, f"a {what} cannot be null", hint)
        return False, None
    try:
        return True, canonical_literal(literal.value, type_name, settings.zone)
    except LiteralTypeError as exc:
        problems.error(
            path, literal.span, f"the {what} {literal_text(literal.value)} {exc.args[0]}"
        )
        return False, None


def _run_checks(
    value: ir.CanonicalValue,
    checks: tuple[ir.Check, ...],
    type_name: ir.TypeName,
    literal: ast.Literal,
    path: str,
    what: str,
    problems: Problems,
) -> bool:
    for check in in_run_order(checks):
        reason = failed_check(check, value, type_name)
        if reason is not None:
            problems.error(
                path,
                literal.span,
                f"the {what} {literal_text(literal.value)} fails the field's own check: it {reason}",
            )
            return False
    return True


def _resolve_checks(
    merged: _Merged, type_name: ir.TypeName | None, problems: Problems
) -> tuple[ir.Check, ...]:
    found = merged.last("checks")
    if found is None:
        return ()
    stmt, path = found
    resolved = (resolve_check(check, type_name, path, problems) for check in stmt.checks or ())
    return tuple(check for check in resolved if check is not None)


def _checks_origin(
    merged: _Merged, settings: _Settings, last: ast.FieldStmt, last_path: str
) -> tuple[str, int] | None:
    """Where a field's checks are written, when not in its last statement (inherited checks)."""
    found = merged.last("checks")
    if found is None or found[0] is last:
        return None
    stmt, path = found
    return settings.recorded_paths.get(path, path), stmt.span.line


def _check_sources(name: str, stmt: ast.FieldStmt, path: str, problems: Problems) -> None:
    if not stmt.sources and stmt.constant is None and stmt.expression is None:
        problems.error(
            path,
            stmt.name.span,
            f"field `{name}` has no source",
            'read it with `<- f_campo` or give a constant with `= "value"`',
        )
    seen: set[str] = set()
    for source in stmt.sources:
        if source.text in seen:
            problems.error(path, source.span, f"`{source.text}` is read twice by this field")
        seen.add(source.text)


def _resolve_constant(
    name: str,
    merged: _Merged,
    stmt: ast.FieldStmt,
    path: str,
    type_name: ir.TypeName,
    checks: tuple[ir.Check, ...],
    settings: _Settings,
    problems: Problems,
) -> tuple[bool, ir.CanonicalValue]:
    """A constant field's value, checked once here since it never changes."""
    literal = stmt.constant
    assert literal is not None
    if name == ID_FIELD:
        problems.error(
            path,
            literal.span,
            "the `id` field must be read from the ERP (`<- f_codigo`), not a constant",
        )
        return False, None
    for attribute, word in (("steps", "steps"), ("default", "default")):
        extra = merged.last(attribute)
        if extra is not None and (attribute != "steps" or extra[0].steps):
            problems.error(
                extra[1],
                extra[0].name.span,
                f"a constant field takes no {word}",
                f"field `{name}` is `= {literal_text(literal.value)}`",
            )
            return False, None
    ok, constant = _literal_value(literal, path, type_name, "constant", settings, problems)
    ok = ok and _run_checks(constant, checks, type_name, literal, path, "constant", problems)
    return ok, constant


def _resolve_expression(
    name: str,
    merged: _Merged,
    stmt: ast.FieldStmt,
    path: str,
    type_name: ir.TypeName,
    scope: Scope,
    problems: Problems,
) -> tuple[bool, ir.Expr | None]:
    """A field's `= EXPRESSION`, typed against the columns; the field's type must take it."""
    assert stmt.expression is not None
    steps = merged.last("steps")
    if steps is not None and steps[0].steps:
        problems.error(
            steps[1],
            steps[0].steps[0].span,
            "a field computed by an expression takes no steps",
            "use the functions inside the expression, e.g. `= upper(trim(f_nombre))`",
        )
        return False, None
    typed = Typer(scope.field_types, path, problems).check(stmt.expression)
    if typed is None:
        return False, None
    if not accepts(type_name, typed.type):
        hint = "convert it with text(...)" if type_name == "string" else None
        problems.error(
            path,
            stmt.expression.span,
            f"field `{name}` is {type_name}, but its value is {typed.type}",
            hint,
        )
        return False, None
    return True, typed


def _resolve_field(
    name: str, merged: _Merged, settings: _Settings, scope: Scope, problems: Problems
) -> ir.Field | None:
    """One merged field as IR, or None when any clause is wrong (all reported)."""
    last, last_path = merged.statements[-1]
    errors_before = len(problems.found)
    type_name = _resolve_type(merged, problems)
    found_required = merged.last("required")
    required = bool(found_required and found_required[0].required)
    policy = _resolve_policy(merged, required, problems)
    source_stmt, source_path = merged.last("sources") or merged.statements[0]
    _check_sources(name, source_stmt, source_path, problems)
    target_found = merged.last("target")
    target = None
    number_out = None
    if target_found is not None and target_found[0].target is not None:
        target = field_output.target_keys(target_found[0].target)
        number_out = field_output.number_out(
            target_found[0], type_name or "", target_found[1], problems
        )
    missing_found = merged.last("on_missing")
    steps: tuple[ir.Step, ...] | None = ()
    steps_found = merged.last("steps")
    if steps_found is not None and steps_found[0].steps:
        steps = resolve_steps(
            steps_found[0].steps, steps_found[1], settings.lookups, problems, every_string=False
        )
    checks = _resolve_checks(merged, type_name, problems)
    if type_name is None or policy is None or steps is None or len(problems.found) > errors_before:
        return None
    expression: ir.Expr | None = None
    if source_stmt.expression is not None:
        ok, expression = _resolve_expression(
            name, merged, source_stmt, source_path, type_name, scope, problems
        )
        if not ok:
            return None
    is_constant = source_stmt.constant is not None and not source_stmt.sources
    constant: ir.CanonicalValue = None
    if is_constant:
        ok, constant = _resolve_constant(
            name, merged, source_stmt, source_path, type_name, checks, settings, problems
        )
        if not ok:
            return None
    default_found = merged.last("default")
    default: ir.CanonicalValue = None
    if default_found is not None:
        literal = default_found[0].default
        assert literal is not None
        ok, default = _literal_value(
            literal, default_found[1], type_name, "default", settings, problems
        )
        if not ok or not _run_checks(
            default, checks, type_name, literal, default_found[1], "default", problems
        ):
            return None
    return ir.Field(
        canonical=name,
        type=type_name,
        required=required,
        sources=() if is_constant else tuple(source.text for source in source_stmt.sources),
        source_paths=() if is_constant else field_output.source_keys(source_stmt.sources),
        is_constant=is_constant,
        constant=constant,
        target=target,
        steps=steps,
        has_default=default_found is not None,
        default=default,
        checks=checks,
        policy=policy,
        file=settings.recorded_paths.get(last_path, last_path),
        line=last.span.line,
        checks_at=_checks_origin(merged, settings, last, last_path),
        number_out=number_out,
        on_missing=field_output.on_missing(missing_found[0] if missing_found else None),
        expression=expression,
    )


# --- the mapping as a whole --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    """A product target already claimed by a field, and its place in the mapping's order."""

    order: int
    parts: tuple[str, ...]
    name: str
    stmt: ast.FieldStmt
    path: str


def _check_targets(merged: dict[str, _Merged], problems: Problems) -> None:
    """Each product target is written by one field, and none is inside another.

    A target clashes with an earlier one that is the same path, a path above it
    or a path below it; the earliest such target is named. Claimed targets are
    indexed by their path and by each path above them, so a target costs a
    few dictionary look-ups (one per dot), not a pass over every field before it.
    """
    claimed: dict[tuple[str, ...], _Target] = {}
    first_below: dict[tuple[str, ...], _Target] = {}  # a path -> the first target under it
    for name, item in merged.items():
        found = item.last("target")
        if found is None or found[0].target is None:
            continue
        stmt, path = found
        assert stmt.target is not None
        parts = field_output.target_keys(stmt.target)
        clashes = [claimed.get(parts[:end]) for end in range(1, len(parts) + 1)]
        clashes.append(first_below.get(parts))
        other = min((t for t in clashes if t is not None), key=lambda t: t.order, default=None)
        if other is None:
            target = _Target(len(claimed), parts, name, stmt, path)
            claimed[parts] = target
            for end in range(1, len(parts)):
                first_below.setdefault(parts[:end], target)
            continue
        where = f"{other.path}, line {other.stmt.span.line}"
        if parts == other.parts:
            message = f"product field `{stmt.target.text}` is already the target of `{other.name}` ({where})"
        else:
            message = f"product field `{stmt.target.text}` overlaps `{'.'.join(other.parts)}`, the target of `{other.name}` ({where})"
        problems.error(
            path, stmt.target.span, message, "each product field is written by one canonical field"
        )


def _check_id(child: _FileInfo, merged: dict[str, _Merged], problems: Problems) -> None:
    item = merged.get(ID_FIELD)
    if item is None:
        span = child.mapping.span if child.mapping is not None else _START
        problems.error(
            child.path,
            span,
            "this mapping has no `id` field",
            "add `field id string required <- f_codigo -> ...`: it names the record in every error",
        )
        return
    found = item.last("required")
    if found is None or not found[0].required:
        stmt, path = found or item.statements[0]
        problems.error(
            path,
            stmt.name.span,
            "the `id` field must be `required`",
            "it names the record in every error",
        )


def _check_each_id(
    scope: Scope, merged: dict[str, _Merged], fields: list[ir.Field | None], problems: Problems
) -> None:
    """With `each`, the id must read the line: otherwise every line would get the same id."""
    if scope.each is None or ID_FIELD not in merged:
        return
    id_field = next((f for f in fields if f is not None and f.canonical == ID_FIELD), None)
    if id_field is None:
        return
    prefix = scope.each.var + "."
    if id_field.expression is not None and any(
        name.startswith(prefix) for name in columns_of(id_field.expression)
    ):
        return
    stmt, path = merged[ID_FIELD].last("sources") or merged[ID_FIELD].statements[0]
    problems.error(
        path,
        stmt.name.span,
        f"with `each {scope.each.var} in ...`, the `id` must depend on the line:"
        " otherwise all lines would share one id",
        f'e.g. `field id string required = f_codigo + "-" + {prefix}KEY`',
    )


def _example(
    example: ast.Example, path: str, fields: dict[str, _Merged], version: int, problems: Problems
) -> ir.Example | None:
    ok = True
    for what, value in (
        ("in", example.input),
        ("expect canonical", example.expect_canonical),
        ("expect product", example.expect_product),
        ("expect product contains", example.expect_product_contains),
    ):
        if value is not None and not isinstance(value.value, dict):
            problems.error(path, value.span, f"`{what}` must be a JSON object")
            ok = False
    products = example.expect_products
    if products is not None and not (
        isinstance(products.value, list) and all(isinstance(p, dict) for p in products.value)
    ):
        problems.error(path, products.span, "`expect products` must be a JSON array of objects")
        ok = False
    bare_reject = example.expect_reject == () and example.expect_reject_span is not None
    if bare_reject and not require_version_2(
        "a bare `expect reject` (a record rule's rejection)",
        version,
        path,
        example.expect_reject_span or example.span,
        problems,
    ):
        ok = False
    has_output = (
        example.expect_canonical is not None
        or example.expect_product is not None
        or example.expect_product_contains is not None
        or products is not None
        or example.expect_skip is not None
    )
    if example.expect_reject is None and example.expect_warning is None and not has_output:
        problems.error(
            path,
            example.name.span,
            "this example expects nothing",
            "add `expect canonical {...}`, `expect product {...}` or `expect reject FIELD`",
        )
        ok = False
    other_output = has_output and not (products is not None and example.expect_skip is None)
    if example.expect_reject is not None and other_output:
        # `expect products` beside `expect reject`: the lines sent and the lines rejected
        problems.error(
            path, example.name.span, "an example expects either a rejection or an output, not both"
        )
        ok = False
    for what, names in (
        ("expect reject", example.expect_reject),
        ("expect warning", example.expect_warning),
    ):
        for name in names or ():
            if name.text not in fields:
                problems.error(
                    path,
                    name.span,
                    f"`{what}`: the mapping has no field `{name.text}`",
                    did_you_mean(name.text, fields),
                )
                ok = False
    if not isinstance(example.name.value, str):
        problems.error(path, example.name.span, "an example's name is a string")
        ok = False
    if not ok:
        return None
    return ir.Example(
        name=str(example.name.value),
        line=example.span.line,
        input=example.input.value,
        expect_canonical=_json_of(example.expect_canonical),
        expect_product=_json_of(example.expect_product),
        expect_reject=_names_of(example.expect_reject),
        expect_product_contains=_json_of(example.expect_product_contains),
        expect_warning=_names_of(example.expect_warning),
        expect_skip=example.expect_skip is not None,
        expect_products=_json_of(example.expect_products),
    )


def _json_of(value: ast.JsonValue | None) -> object | None:
    return None if value is None else value.value


def _names_of(names: tuple[ast.Name, ...] | None) -> tuple[str, ...] | None:
    return None if names is None else tuple(name.text for name in names)


def _check_each_examples(child: _FileInfo, has_each: bool, problems: Problems) -> None:
    """A one-to-many mapping's examples say `expect products [...]`; only such a mapping's do."""
    for stmt in child.examples:
        one = stmt.expect_canonical or stmt.expect_product or stmt.expect_product_contains
        if has_each and one is not None:
            problems.error(
                child.path,
                one.span,
                "a mapping with `each` makes one record per line: expect them all with"
                " `expect products [...]`",
            )
        if not has_each and stmt.expect_products is not None:
            problems.error(
                child.path,
                stmt.expect_products.span,
                "`expect products` is for a mapping with `each` (one record per line)",
                "expect this mapping's one record with `expect product {...}`",
            )


def _examples(child: _FileInfo, merged: dict[str, _Merged], problems: Problems) -> list[ir.Example]:
    names: dict[str, int] = {}
    examples: list[ir.Example] = []
    for example in child.examples:
        name = example.name.value
        if isinstance(name, str) and name in names:
            problems.error(
                child.path,
                example.name.span,
                f"example {literal_text(name)} is given twice",
                f"first on line {names[name]}",
            )
            continue
        if isinstance(name, str):
            names[name] = example.span.line
        version = file_version(child.file.ast.statements)
        resolved = _example(example, child.path, merged, version, problems)
        if resolved is not None:
            examples.append(resolved)
    return examples


# --- warnings (once there is no error) ---------------------------------------------------


def _field_warnings(
    child: _FileInfo,
    merged: dict[str, _Merged],
    fields: dict[str, ir.Field],
    settings: _Settings,
    examples: list[ir.Example],
) -> list[Diagnostic]:
    """Per-field warnings whose cause is written in the checked file itself."""
    found: list[Diagnostic] = []
    lookups: dict[str, tuple[ast.LookupStmt, str]] = {}
    for stmt, path in settings.lookup_statements:
        lookups[stmt.name.text] = (stmt, path)
    for name, item in merged.items():
        field_ir = fields[name]
        required, default = item.last("required"), item.last("default")
        if field_ir.required and default is not None and required is not None:
            if default[1] == child.path:
                assert default[0].default is not None
                found.append(lints.required_with_default(child.path, name, default[0].default.span))
            elif required[1] == child.path:
                found.append(lints.required_with_default(child.path, name, required[0].name.span))
        sources = item.last("sources")
        if sources is not None and sources[1] == child.path and not field_ir.is_constant:
            found.extend(lints.columns_in_no_example(child.path, sources[0].sources, examples))
        last_step = field_ir.steps[-1] if field_ir.steps else None
        convert = lints.converter(field_ir.type, settings.zone)
        if isinstance(last_step, ir.LookupStep) and convert is not None:
            lookup, path = lookups[last_step.table]
            found.extend(lints.lookup_values_of_wrong_type(path, lookup, field_ir, convert))
    return found


def _override_notes(child: _FileInfo, merged: dict[str, _Merged]) -> list[Diagnostic]:
    """A note for each `override X check ...` of the checked file that replaces inherited checks."""
    found: list[Diagnostic] = []
    for name, item in merged.items():
        for index, (stmt, path) in enumerate(item.statements):
            if path != child.path or stmt.kind != "override" or not stmt.checks:
                continue
            earlier = [(s, p) for s, p in item.statements[:index] if s.checks is not None]
            if earlier and earlier[-1][0].checks:
                base, base_path = earlier[-1]
                found.append(lints.replaced_checks(path, name, stmt, base, base_path))
    return found


def _warnings(
    chain: list[_FileInfo],
    merged: dict[str, _Merged],
    mapping: ir.Mapping,
    settings: _Settings,
    product_types: Collection[str] | None,
    sources: dict[str, str],
) -> Findings:
    """Every warning of a mapping that has no error, in source order."""
    child = chain[-1]
    fields = {field.canonical: field for field in mapping.fields}
    used = lints.used_lookups([mapping.every_string, *(f.steps for f in mapping.fields)])
    found = lints.unused_lookups(child.path, (stmt for stmt, _ in child.lookups), used)
    found += _field_warnings(child, merged, fields, settings, list(mapping.examples))
    found += _override_notes(child, merged)
    if product_types is not None and child.mapping is not None and child.mapping.product:
        unknown = lints.unknown_product_type(child.path, child.mapping.product, product_types)
        found += [unknown] if unknown is not None else []
    unique = {(d.path, d.span, d.message): d for d in found}
    return Findings(in_source_order(unique.values()), dict(sources))


def check_mapping(
    file: LoadedFile, load_base: BaseLoader, *, product_types: Collection[str] | None = None
) -> ir.Mapping:
    """Check a file and what it extends; the resolved mapping, or MapError with every problem.

    The mapping carries its warnings; `product_types`, when given, are those a
    sync can load (a mapping for another type is warned about).
    """
    problems = Problems()
    problems.add_source(file.ast.path, file.ast.source)
    chain = [_check_file(loaded, problems) for loaded in load_chain(file, load_base, problems)]
    child = chain[-1]
    if chain[0].mapping is not None and chain[0].mapping.extends is not None:
        problems.raise_if_any()  # the chain broke; what follows would only repeat it
    if any(not info.file.ast.statements for info in chain):
        problems.raise_if_any()  # an empty file: "no `id` field" and the like add nothing
    settings, merged = _merge(chain, problems)
    every: tuple[ir.Step, ...] | None = ()
    if settings.every is not None:
        every = resolve_steps(
            settings.every[0].steps,
            settings.every[1],
            settings.lookups,
            problems,
            every_string=True,
        )
    scope = resolve_scope(
        [(stmt, info.path) for info in chain for stmt in info.columns],
        [(stmt, info.path) for info in chain for stmt in info.eaches],
        problems,
    )
    rules = resolve_rules(
        [(stmt, info.path, info.file.rel_path) for info in chain for stmt in info.rules],
        scope,
        problems,
    )
    fields = [
        _resolve_field(name, item, settings, scope, problems) for name, item in merged.items()
    ]
    _check_id(child, merged, problems)
    _check_each_id(scope, merged, fields, problems)
    _check_targets(merged, problems)
    examples = _examples(child, merged, problems)
    _check_each_examples(child, any(info.eaches for info in chain), problems)
    problems.raise_if_any()
    base_mapping = chain[0].mapping
    assert (
        child.mapping is not None and base_mapping is not None and base_mapping.product is not None
    )
    mapping = ir.Mapping(
        name=child.mapping.name.text,
        name_span=child.mapping.name.span,
        product_type=base_mapping.product.text,
        version=file_version(file.ast.statements),
        source=ir.SourceFile(file.rel_path, file.sha256),
        bases=tuple(ir.SourceFile(info.file.rel_path, info.file.sha256) for info in chain[:-1]),
        timezone=settings.zone_name,
        every_string=every or (),
        fields=tuple(field for field in fields if field is not None),
        examples=tuple(examples),
        columns=tuple(scope.columns.values()),
        rules=rules,
        each=scope.each,
    )
    warnings = _warnings(chain, merged, mapping, settings, product_types, problems.sources)
    return dataclasses.replace(mapping, warnings=warnings)
