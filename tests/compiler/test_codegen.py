"""The generated modules: plain, self-contained, lint-clean Python, the same bytes every time."""

from __future__ import annotations

import ast
import hashlib
import py_compile
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from compiler.filters import Ident, UnsafeLiteral, ident, py
from compiler.pipeline import CompiledMapping, compile_file
from compiler.version import COMPILER_VERSION

Compile = Callable[..., CompiledMapping]
Load = Callable[[CompiledMapping], ModuleType]

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"

# Every feature of the language in one file, so that lint and compile checks see every code shape.
KITCHEN_SINK = """version 1
mapping kitchen-sink for kong
timezone "America/Bogota"
every string | trim | empty_to_missing | upper

lookup zonas {
  "A" -> "Zona A"
  "B" -> "Zona B"
}

field id string required <- f_codigo, f_id -> product_id | strip_zeros | pad(6, "0") check length 1..64 check matches "^[0-9A-Z]+$"
field name string required <- f_nombre -> name | replace("  ", " ") | lower check length <= 200
field display_name string optional <- f_nombre_corto, f_nombre
field ean string optional <- f_ean -> codes.ean check gtin on invalid drop
field stock_quantity int required <- f_cantidad -> quantity check >= 0 check 0..1000000 check in [1, 2, 3, 5, 8, 13, 100]
field warehouse_location string optional <- f_ubicacion | format("{zone:A}-{aisle:99}-{shelf:99}", "{zone}{aisle}{shelf}") check matches "^[A-Z][0-9]{4}$" on invalid warn
field warehouse_zone string optional <- f_zona | lookup(zonas) default "Zona A" on invalid drop
field category string optional <- f_categoria | lookup(zonas, keep) | empty_to_missing | pad(3, "x") check in ["Zona A", "xxB"]
field custom:precio decimal optional <- f_precio -> pricing.unit.amount check > 0 check < 1000000.5 on invalid warn
field custom:peso decimal optional <- f_peso default 1.5 check 0.5..99.5
field custom:activo bool optional <- f_activo default true
field custom:alta date optional <- f_alta default "2025-01-01"
field custom:visto datetime optional <- f_visto default "2025-01-15 10:00:00"
field custom:origen string = "siesa" -> origin
field custom:version int = 3
field custom:etiqueta string optional <- f_etiqueta check length >= 2 on invalid warn
"""

EVERY_STRING_VARIANTS = [
    "",
    "every string | empty_to_missing\n",
    "every string | upper\n",
    "every string | empty_to_missing | trim\n",
    'every string | strip_zeros | empty_to_missing | pad(2, "0") | empty_to_missing\n',
]


def _variant(every: str) -> str:
    return f"version 1\nmapping v for wms\n{every}field id string required <- f_codigo -> item_id | empty_to_missing\n"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, compile_text: Compile) -> dict[str, Path]:
    """The product modules, the kitchen sink and small variants, written to a directory."""
    out = tmp_path_factory.mktemp("generated")
    written: dict[str, Path] = {}
    for relative in ("kong.map", "wms.map", "clients/cliente-e.map"):
        compiled = compile_file(MAPPINGS / relative, root=MAPPINGS)
        written[compiled.mapping.name] = out / compiled.module_file
    codes = {
        name: compile_file(MAPPINGS / rel, root=MAPPINGS).code
        for name, rel in (
            ("kong", "kong.map"),
            ("wms", "wms.map"),
            ("cliente-e", "clients/cliente-e.map"),
        )
    }
    codes["kitchen-sink"] = compile_text(KITCHEN_SINK, head=False).code
    for index, every in enumerate(EVERY_STRING_VARIANTS):
        codes[f"variant-{index}"] = compile_text(_variant(every), head=False).code
    for name, code in codes.items():
        path = out / f"{name.replace('-', '_')}.py"
        path.write_text(code, encoding="utf-8")
        written[name] = path
    return written


def test_generated_modules_pass_ruff_with_the_projects_rules(generated: dict[str, Path]) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [
            str(ruff),
            "check",
            "--no-cache",
            "--config",
            str(REPO / "pyproject.toml"),
            *map(str, generated.values()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_modules_byte_compile(generated: dict[str, Path], tmp_path: Path) -> None:
    for name, path in generated.items():
        py_compile.compile(str(path), cfile=str(tmp_path / f"{name}.pyc"), doraise=True)


STDLIB_IMPORTS = {"__future__", "re", "math", "decimal", "datetime", "zoneinfo"}
# google-re2's extension module: `check matches` regexes run on RE2 (a Lambda dependency).
RUNTIME_DEPENDENCY_IMPORTS = {"_re2"}


@pytest.mark.parametrize("name", ["kong", "wms", "cliente-e", "kitchen-sink"])
def test_generated_code_imports_only_the_standard_library_re2_and_never_evals(
    generated: dict[str, Path], name: str
) -> None:
    tree = ast.parse(generated[name].read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"eval", "exec", "compile", "__import__", "getattr", "open"}
    assert imported <= STDLIB_IMPORTS | RUNTIME_DEPENDENCY_IMPORTS
    assert not imported & {"dsl", "compiler", "runtime"}


def test_regexes_are_compiled_once_at_import(generated: dict[str, Path]) -> None:
    tree = ast.parse(generated["kitchen-sink"].read_text(encoding="utf-8"))
    functions = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name in ("to_canonical", "to_product")
    ]
    for function in functions:
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "re"
            ):
                pytest.fail(f"{function.name} uses re.{node.attr} at run time")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_regex":
                pytest.fail(f"{function.name} compiles a regex with RE2 at run time")


def test_only_the_helpers_a_module_uses_are_emitted(generated: dict[str, Path]) -> None:
    kong = generated["kong"].read_text(encoding="utf-8")
    sink = generated["kitchen-sink"].read_text(encoding="utf-8")
    for helper in (
        "def _to_datetime",
        "def _to_bool",
        "def _to_date",
        "def _gtin",
        "from zoneinfo",
    ):
        assert helper not in kong
        assert helper in sink
    assert "def _ean13" in kong and "def _to_int" in kong


def test_header_names_the_source_its_hash_and_the_compiler() -> None:
    compiled = compile_file(MAPPINGS / "kong.map", root=MAPPINGS)
    digest = hashlib.sha256((MAPPINGS / "kong.map").read_bytes()).hexdigest()
    head = compiled.code.splitlines()[:5]
    assert "# source: 'kong.map'" in head
    assert f"# source sha256: {digest!r}" in head
    assert f"# compiler version: {COMPILER_VERSION!r}" in head


def test_header_of_a_client_file_names_its_base_too() -> None:
    compiled = compile_file(MAPPINGS / "clients" / "cliente-e.map", root=MAPPINGS)
    digest = hashlib.sha256((MAPPINGS / "wms.map").read_bytes()).hexdigest()
    assert f"# extends: 'wms.map', sha256 {digest!r}" in compiled.code.splitlines()[:6]


@pytest.mark.parametrize("relative", ["kong.map", "wms.map", "clients/cliente-e.map"])
def test_compiling_twice_gives_the_same_bytes(relative: str) -> None:
    first = compile_file(MAPPINGS / relative, root=MAPPINGS).code
    second = compile_file(MAPPINGS / relative, root=MAPPINGS).code
    assert first.encode() == second.encode()


def test_same_bytes_in_a_fresh_interpreter_with_another_hash_seed() -> None:
    script = (
        "from pathlib import Path; from compiler.pipeline import compile_file; import hashlib;"
        f"m = Path({str(MAPPINGS)!r});"
        "print(hashlib.sha256(compile_file(m / 'kong.map', root=m).code.encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_line_map_points_generated_lines_back_to_map_lines(load: Load) -> None:
    compiled = compile_file(MAPPINGS / "kong.map", root=MAPPINGS)
    module = load(compiled)
    map_lines = (MAPPINGS / "kong.map").read_text(encoding="utf-8").splitlines()
    stock_line = next(
        n for n, text in enumerate(map_lines, 1) if text.startswith("field stock_quantity")
    )
    code_lines = compiled.code.splitlines()
    reads = [n for n, text in enumerate(code_lines, 1) if "get('f_cantidad')" in text]
    assert reads and all(module.LINE_MAP[n] == stock_line for n in reads)
    checks = [n for n, text in enumerate(code_lines, 1) if "must be >= 0" in text]
    assert checks and all(module.LINE_MAP[n] == stock_line for n in checks)
    assert set(module.LINE_MAP.values()) <= {
        n for n, text in enumerate(map_lines, 1) if text.startswith("field ")
    }
    assert 1 not in module.LINE_MAP  # the header is not from any .map line


def test_issues_carry_the_map_line_of_their_field(product_modules: dict[str, ModuleType]) -> None:
    kong = product_modules["kong"]
    _, issues = kong.to_canonical(
        {"f_codigo": "P1", "f_codigo_externo": "E", "f_nombre": "N", "f_cantidad": -1}
    )
    (issue,) = issues
    field = next(f for f in kong.FIELDS if f["canonical"] == "stock_quantity")
    assert issue["line"] == field["line"]
    assert issue["file"] == field["file"] == "kong.map"
    assert set(issue) == {
        "record_id",
        "field",
        "file",
        "line",
        "value",
        "reason",
        "severity",
        "action",
    }


def test_issues_of_an_extends_mapping_name_the_file_of_their_field(compile_text: Compile) -> None:
    base = "version 1\nmapping base for kong\nfield id string required <- f_codigo\nfield name string required <- f_nombre\nfield ean string optional <- f_ean check ean13\n"
    child = 'version 1\nmapping child extends "base.map"\noverride ean check length 13..13\n'
    compiled = compile_text(child, head=False, path="child.map", files={"base.map": base})
    module = compiled.load().module
    _, issues = module.to_canonical({"f_codigo": "P", "f_ean": "1"})
    assert [(i["field"], i["file"], i["line"]) for i in issues] == [
        ("name", "base.map", 4),
        ("ean", "child.map", 3),
    ]


def test_an_inherited_check_that_fails_names_the_base_line_that_wrote_it(
    compile_text: Compile,
) -> None:
    base = (
        "version 1\nmapping base for kong\nfield id string required <- f_codigo\n"
        "field ean string optional <- f_ean check length 13..13\n"
    )
    child = 'version 1\nmapping child extends "base.map"\noverride ean <- f_ean_alterno | trim\n'
    compiled = compile_text(child, head=False, path="child.map", files={"base.map": base})
    module = compiled.load().module
    _, failed_check = module.to_canonical({"f_codigo": "P", "f_ean_alterno": "123"})
    _, failed_step = module.to_canonical({"f_codigo": "P", "f_ean_alterno": {"x": 1}})
    assert [(i["field"], i["file"], i["line"]) for i in failed_check] == [("ean", "base.map", 4)]
    assert [(i["file"], i["line"]) for i in failed_step] == [("child.map", 3)]


def test_module_interface(product_modules: dict[str, ModuleType]) -> None:
    kong = product_modules["kong"]
    assert kong.ID_FIELD == "id"
    assert {
        "name",
        "product_type",
        "version",
        "source",
        "source_sha256",
        "compiler_version",
    } <= set(kong.MAPPING)
    assert kong.MAPPING["name"] == "kong" and kong.MAPPING["product_type"] == "kong"
    first = kong.FIELDS[0]
    assert first == {
        "canonical": "id",
        "type": "string",
        "required": True,
        "sources": ("f_codigo",),
        "target": "product_id",
        "file": "kong.map",
        "line": first["line"],
    }
    assert kong.to_canonical("not a record")[0] is None


class TestFilters:
    """`py` writes only whitelisted literals; `ident` only the generator's own names."""

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "a'b\"c",
            "line\nbreak",
            "\\",
            "\x00\ud800",
            "é",
            0,
            -7,
            10**30,
            True,
            False,
            None,
            Decimal("1.50"),
            ("a",),
            (),
            ("a", 1),
            frozenset({"b", "a"}),
            {"k": ("v", None)},
        ],
    )
    def test_py_round_trips_through_the_python_parser(self, value: object) -> None:
        namespace: dict[str, object] = {
            "Decimal": Decimal,
            "__builtins__": {"frozenset": frozenset},
        }
        assert eval(py(value), namespace) == value

    def test_frozensets_are_written_in_a_stable_order(self) -> None:
        assert py(frozenset({"b", "a", "c"})) == "frozenset({'a', 'b', 'c'})"

    @pytest.mark.parametrize(
        "value",
        [1.5, [1], {1, 2}, object(), Decimal("NaN"), Ident("x"), b"x", 10**5000],
        ids=["float", "list", "set", "object", "nan", "ident", "bytes", "huge-int"],
    )
    def test_py_refuses_anything_else(self, value: object) -> None:
        with pytest.raises(UnsafeLiteral):
            py(value)

    def test_ident_takes_only_generated_identifiers(self) -> None:
        assert ident(Ident("c_1")) == "c_1"
        for value in ("c_1", "__import__('os')", 1, None):
            with pytest.raises(UnsafeLiteral):
                ident(value)
        with pytest.raises(ValueError):
            Ident("not an identifier")
