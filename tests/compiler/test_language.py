"""What the language means, end to end: steps, checks, policies, coalescing, constants, overrides."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from compiler.pipeline import CompiledMapping, check_source

Compile = Callable[..., CompiledMapping]
Load = Callable[[CompiledMapping], ModuleType]


def _module(compile_text: Compile, load: Load, body: str) -> ModuleType:
    return load(compile_text(body))


def _one(
    module: ModuleType, record: dict[str, object], field: str
) -> tuple[object, list[tuple[object, object, object, object]]]:
    """The field's canonical value and the record's issues as (field, severity, action, reason)."""
    canonical, issues = module.to_canonical({"f_codigo": "P1", **record})
    summary = [(i["field"], i["severity"], i["action"], i["reason"]) for i in issues]
    return (None if canonical is None else canonical[field]), summary


class TestSteps:
    @pytest.mark.parametrize(
        ("steps", "value", "expected"),
        [
            ("| trim", "  a b  ", "a b"),
            ("| upper", "abc", "ABC"),
            ("| lower", "ABC", "abc"),
            ("| strip_zeros", "000123", "123"),
            ("| strip_zeros", "000", "0"),
            ('| pad(6, "0")', "123", "000123"),
            ('| pad(2, "0")', "12345", "12345"),
            ('| replace("-", "")', "A-01-05", "A0105"),
            ("| trim | empty_to_missing", "   ", None),
            ('| trim | empty_to_missing | pad(3, "x")', "  ", None),
            (
                '| format("{zone:A}-{aisle:99}-{shelf:99}", "{zone}{aisle}{shelf}")',
                "A-01-05",
                "A0105",
            ),
            ('| format("{{{a:aa}}}/{n:9}", "{n}{{{a}}}")', "{xy}/7", "7{xy}"),
            ('| format("{c:X}{c2:X}", "{c2}-{c}")', "a9", "9-a"),
            ('| strip_zeros | pad(4, "0")', 42, "0042"),
            ("| upper", 12.0, "12"),
        ],
    )
    def test_step(
        self, compile_text: Compile, load: Load, steps: str, value: object, expected: object
    ) -> None:
        module = _module(compile_text, load, f"field custom:x string optional <- f_x {steps}\n")
        assert _one(module, {"f_x": value}, "custom:x") == (expected, [])

    def test_lookup_refuses_unknown_codes_unless_keep(
        self, compile_text: Compile, load: Load
    ) -> None:
        body = 'lookup t {\n  "01" -> "Ropa"\n}\nfield category string optional <- f_a | lookup(t)\nfield custom:b string optional <- f_b | lookup(t, keep)\n'
        module = _module(compile_text, load, body)
        assert _one(module, {"f_a": "01"}, "category") == ("Ropa", [])
        assert _one(module, {"f_a": "99"}, "category") == (
            None,
            [("category", "error", "reject", "is not a code of lookup t")],
        )
        assert _one(module, {"f_b": "99"}, "custom:b") == ("99", [])

    def test_a_value_outside_the_format_shape_is_invalid(
        self, compile_text: Compile, load: Load
    ) -> None:
        module = _module(
            compile_text,
            load,
            'field custom:x string optional <- f_x | format("{z:A}-{n:99}", "{z}{n}")\n',
        )
        value, issues = _one(module, {"f_x": "a-01"}, "custom:x")
        assert value is None
        assert issues == [("custom:x", "error", "reject", 'does not have the shape "{z:A}-{n:99}"')]

    def test_every_string_applies_to_each_source_read_but_not_to_numbers(
        self, compile_text: Compile, load: Load
    ) -> None:
        body = "every string | trim | upper\nfield custom:x string optional <- f_x\nfield custom:n int optional <- f_n\n"
        module = _module(compile_text, load, body)
        canonical, _ = module.to_canonical({"f_codigo": " p1 ", "f_x": " ab ", "f_n": 7})
        assert canonical == {"id": "P1", "custom:x": "AB", "custom:n": 7}


class TestSourcesAndValues:
    def test_coalescing_takes_the_first_source_present(
        self, compile_text: Compile, load: Load
    ) -> None:
        body = "every string | trim | empty_to_missing\nfield display_name string optional <- f_a, f_b, f_c\n"
        module = _module(compile_text, load, body)
        assert _one(module, {"f_a": " ", "f_b": None, "f_c": "C"}, "display_name") == ("C", [])
        assert _one(module, {"f_a": "A", "f_c": "C"}, "display_name") == ("A", [])
        assert _one(module, {}, "display_name") == (None, [])

    def test_constants_and_defaults(self, compile_text: Compile, load: Load) -> None:
        body = (
            'field custom:origen string = "siesa" -> origin\n'
            "field custom:n int optional <- f_n default 5\n"
            "field custom:d decimal optional <- f_d default 1.50\n"
            'field custom:t datetime optional <- f_t default "2025-01-01 00:00:00"\n'
            "field custom:r int required <- f_r default 0\n"
        )
        module = _module(compile_text, load, body)
        canonical, issues = module.to_canonical({"f_codigo": "P1"})
        assert issues == []
        assert canonical == {
            "id": "P1",
            "custom:origen": "siesa",
            "custom:n": 5,
            "custom:d": "1.50",
            "custom:t": "2025-01-01T00:00:00-05:00",
            "custom:r": 0,
        }
        assert module.to_product(canonical) == {"product_id": "P1", "origin": "siesa"}

    def test_targets_build_nested_objects_and_leave_out_missing_ones(
        self, compile_text: Compile, load: Load
    ) -> None:
        body = "field custom:a string optional <- f_a -> x.y.a\nfield custom:b string optional <- f_b -> x.b\nfield name string optional <- f_n -> name\n"
        module = _module(compile_text, load, body)
        canonical, _ = module.to_canonical({"f_codigo": "P1", "f_a": "A"})
        assert module.to_product(canonical) == {
            "product_id": "P1",
            "name": None,
            "x": {"y": {"a": "A"}},
        }
        canonical, _ = module.to_canonical({"f_codigo": "P1"})
        assert module.to_product(canonical) == {"product_id": "P1", "name": None}


class TestChecksAndPolicies:
    @pytest.mark.parametrize(
        ("field", "value", "reason"),
        [
            ("field custom:x int optional <- f_x check > 0", 0, "must be > 0"),
            ("field custom:x int optional <- f_x check < 10", 10, "must be < 10"),
            ("field custom:x int optional <- f_x check <= 9", 10, "must be <= 9"),
            (
                "field custom:x decimal optional <- f_x check 0.5..1.5",
                "1,6",
                "must be between 0.5 and 1.5",
            ),
            ("field custom:x int optional <- f_x check in [1, 2]", 3, "must be one of 1, 2"),
            (
                'field custom:x string optional <- f_x check in ["S", "M"]',
                "XL",
                'must be one of "S", "M"',
            ),
            (
                "field custom:x string optional <- f_x check length >= 3",
                "ab",
                "must be at least 3 characters long",
            ),
            (
                "field custom:x string optional <- f_x check length <= 1",
                "ab",
                "must be at most 1 characters long",
            ),
            ("field custom:x string optional <- f_x check gtin", "12345678", "is not a valid GTIN"),
            (
                'field custom:x string optional <- f_x check matches "[a-z]+"',
                "abc1",
                'does not match "[a-z]+"',
            ),
        ],
    )
    def test_failing_check_rejects_with_its_reason(
        self, compile_text: Compile, load: Load, field: str, value: object, reason: str
    ) -> None:
        module = _module(compile_text, load, field + "\n")
        converted, issues = _one(module, {"f_x": value}, "custom:x")
        assert converted is None
        assert len(issues) == 1 and issues[0][:3] == ("custom:x", "error", "reject")
        assert str(issues[0][3]).startswith(reason)

    def test_checks_run_in_order_and_the_first_failure_is_reported(
        self, compile_text: Compile, load: Load
    ) -> None:
        module = _module(
            compile_text,
            load,
            'field custom:x string optional <- f_x check length 1..2 check matches "[0-9]+"\n',
        )
        assert _one(module, {"f_x": "abc"}, "custom:x")[1][0][3] == "must be 1 to 2 characters long"

    def test_drop_makes_the_field_missing_so_the_default_applies(
        self, compile_text: Compile, load: Load
    ) -> None:
        body = "field custom:x int optional <- f_x check >= 0 default 0 on invalid drop\nfield custom:y int optional <- f_y on invalid drop\n"
        module = _module(compile_text, load, body)
        canonical, issues = module.to_canonical({"f_codigo": "P1", "f_x": -5, "f_y": "abc"})
        assert canonical == {"id": "P1", "custom:x": 0, "custom:y": None}
        assert [(i["field"], i["severity"], i["action"], i["value"]) for i in issues] == [
            ("custom:x", "warning", "drop", -5),
            ("custom:y", "warning", "drop", "abc"),
        ]
        assert all(i["record_id"] == "P1" for i in issues)

    def test_warn_keeps_the_value(self, compile_text: Compile, load: Load) -> None:
        body = "field custom:x int optional <- f_x check >= 0 on invalid warn\nfield custom:d decimal optional <- f_d check < 1 on invalid warn\n"
        module = _module(compile_text, load, body)
        canonical, issues = module.to_canonical({"f_codigo": "P1", "f_x": "-5", "f_d": "2,50"})
        assert canonical == {"id": "P1", "custom:x": -5, "custom:d": "2.50"}
        assert [(i["field"], i["severity"], i["action"]) for i in issues] == [
            ("custom:x", "warning", "warn"),
            ("custom:d", "warning", "warn"),
        ]

    def test_all_errors_of_a_record_are_reported_together(
        self, compile_text: Compile, load: Load
    ) -> None:
        body = "field name string required <- f_nombre\nfield stock_quantity int required <- f_cantidad check >= 0\n"
        module = _module(compile_text, load, body)
        canonical, issues = module.to_canonical({"f_codigo": " P9 ", "f_cantidad": -1})
        assert canonical is None
        assert [(i["record_id"], i["field"], i["value"]) for i in issues] == [
            ("P9", "name", None),
            ("P9", "stock_quantity", -1),
        ]


class TestOverrides:
    BASE = (
        'version 1\nmapping base for wms\ntimezone "America/Bogota"\nevery string | trim | empty_to_missing\n'
        'lookup zonas {\n  "A" -> "Zona A"\n}\n'
        "field id string required <- f_codigo -> item_id check length 1..64\n"
        "field name string required <- f_nombre -> item_name\n"
        "field warehouse_zone string optional <- f_zona -> zone_id | lookup(zonas)\n"
        "field custom:color string optional <- f_color -> attributes.color\n"
        'example "base example" {\n  in {"f_codigo": "P"}\n  expect reject name\n}\n'
    )

    def test_an_override_changes_only_what_it_names(
        self, compile_text: Compile, load: Load
    ) -> None:
        child = (
            'version 1\nmapping cliente extends "base.map"\n'
            'timezone "America/Lima"\n'
            'lookup zonas {\n  "A" -> "Área A"\n}\n'
            "override name optional <- f_nombre_corto, f_nombre\n"
            "override id check length 1..3\n"
            "remove custom:color\n"
            "field sku string optional <- f_referencia -> sku\n"
        )
        compiled = compile_text(
            child, head=False, path="clients/cliente.map", files={"clients/base.map": self.BASE}
        )
        mapping = compiled.mapping
        assert [f.canonical for f in mapping.fields] == ["id", "name", "warehouse_zone", "sku"]
        assert mapping.product_type == "wms" and mapping.timezone == "America/Lima"
        assert mapping.examples == ()  # the base's examples do not carry over
        name = mapping.fields[1]
        assert (name.required, name.sources, name.target) == (
            False,
            ("f_nombre_corto", "f_nombre"),
            ("item_name",),
        )
        assert [b.path for b in mapping.bases] == ["base.map"]
        module = load(compiled)
        canonical, issues = module.to_canonical(
            {"f_codigo": " P1 ", "f_nombre": " Camisa ", "f_zona": "A", "f_color": "Azul"}
        )
        assert issues == []
        assert canonical == {"id": "P1", "name": "Camisa", "warehouse_zone": "Área A", "sku": None}
        assert module.to_canonical({"f_codigo": "P1234"})[0] is None  # the overridden length check

    def test_a_chain_of_extends_is_followed(self, compile_text: Compile) -> None:
        middle = 'version 1\nmapping middle extends "base.map"\noverride name optional\n'
        child = 'version 1\nmapping leaf extends "middle.map"\noverride name -> nombre\n'
        mapping = compile_text(
            child, head=False, path="leaf.map", files={"base.map": self.BASE, "middle.map": middle}
        ).mapping
        name = mapping.fields[1]
        assert (name.required, name.target) == (False, ("nombre",))
        assert [b.path for b in mapping.bases] == ["base.map", "middle.map"]

    def test_a_broken_base_is_reported_with_its_own_path(self) -> None:
        from dsl.diagnostics import MapError

        broken = self.BASE.replace("string required <- f_nombre", "strng required <- f_nombre")
        with pytest.raises(MapError) as raised:
            check_source(
                'version 1\nmapping c extends "base.map"\n', "c.map", files={"base.map": broken}
            )
        assert [(d.path, d.message) for d in raised.value.diagnostics] == [
            ("base.map", "unknown type `strng`")
        ]


def test_a_type_in_other_case_is_named_as_the_parser_would() -> None:
    from dsl.diagnostics import MapError

    with pytest.raises(MapError) as raised:
        check_source(
            "version 1\nmapping t for kong\nfield id STRING required <- f_codigo -> product_id\n",
            "t.map",
        )
    assert [(d.message, d.hint) for d in raised.value.diagnostics] == [
        ("unknown type `STRING`", "did you mean `string`?")
    ]
