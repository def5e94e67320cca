"""Imports flow one way: the layers below, no cycles, and the Lambda's packages stay small.

The graph is read from the source (import_graph.py says what counts as an
edge: lazy imports do, `TYPE_CHECKING` imports do not).
"""

from __future__ import annotations

import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from import_graph import (
    Import,
    describe_cycle,
    find_cycle,
    graph_of,
    imports_of,
    layer_violations,
    modules_of,
    outside_imports,
    package_graph,
)
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ops.deploy.requirements import PROVIDED_BY_LAMBDA

ROOT = Path(__file__).resolve().parents[2]

# Who may import whom among our top-level packages. A package not listed here fails
# the first test: a new package needs a place in the layers.
LAYERS: dict[str, frozenset[str]] = {
    "cli": frozenset(
        {
            "ops",
            "local",
            "editor",
            "playground",
            "compiler",
            "dsl",
            "runtime",
            "contract",
            "infra",
            "mappings",
        }
    ),
    # The language server of `.map` files: tooling beside the compiler; it asks the runtime
    # only for the product types a sync can load, as `siesa map check` does.
    "editor": frozenset({"compiler", "dsl", "runtime", "contract"}),
    # The playground page (`siesa map serve`): tooling beside the compiler; it reads a client's
    # last run through ops, never the other way round.
    "playground": frozenset({"ops", "compiler", "dsl", "runtime", "contract"}),
    "local": frozenset({"ops", "runtime", "contract", "compiler", "dsl", "infra", "mappings"}),
    "ops": frozenset({"runtime", "contract", "compiler", "dsl", "infra", "mappings"}),
    "compiler": frozenset({"dsl", "contract"}),
    "runtime": frozenset({"contract"}),
    "contract": frozenset(),
    "dsl": frozenset(),
    "infra": frozenset(),
    "mappings": frozenset(),
}
# What runs in the Lambda: these packages, and of ours only what each may import.
LAMBDA_PACKAGES = {"runtime": LAYERS["runtime"], "contract": LAYERS["contract"]}
# Distributions a declared dependency is used through, though the project does not name them:
# pydantic's core (its error and schema types).
USED_THROUGH = {"pydantic": ("pydantic-core",)}


@cache
def _edges() -> tuple[Import, ...]:
    return tuple(imports_of(ROOT, sorted(LAYERS)))


def _lines(edges: list[Import]) -> str:
    return "\n".join(str(edge) for edge in edges)


def lambda_dependency_imports(pyproject: Path = ROOT / "pyproject.toml") -> frozenset[str]:
    """The top-level names the Lambda may import besides the standard library: those of the
    declared dependencies (`[project] dependencies`), what they are used through, and the SDK
    the Lambda runtime provides."""
    with pyproject.open("rb") as handle:
        declared = tomllib.load(handle)["project"]["dependencies"]
    names = {canonicalize_name(Requirement(text).name) for text in declared}
    names |= {canonicalize_name(name) for name in PROVIDED_BY_LAMBDA}
    for root in list(names):
        names |= {canonicalize_name(name) for name in USED_THROUGH.get(root, ())}
    return frozenset(
        top
        for top, distributions in packages_distributions().items()
        if any(canonicalize_name(name) in names for name in distributions)
    )


def test_every_top_level_package_has_a_place_in_the_layers() -> None:
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert packages == set(LAYERS)


def test_no_import_cycle_among_packages() -> None:
    cycle = find_cycle(package_graph(_edges()))
    assert cycle is None, "import cycle: " + describe_cycle(_edges(), cycle, by_package=True)


def test_each_package_imports_only_the_packages_below_it() -> None:
    violations = layer_violations(_edges(), LAYERS)
    assert not violations, "imports against the layers:\n" + _lines(violations)


def test_the_lambda_packages_import_only_the_stdlib_and_declared_dependencies() -> None:
    allowed = lambda_dependency_imports() | sys.stdlib_module_names
    assert {"pydantic", "pydantic_core", "aws_lambda_powertools", "boto3", "botocore"} <= allowed
    assert not {"lark", "jinja2", "typer", "yaml", "pygls", "lsprotocol"} & allowed
    foreign = outside_imports(_edges(), LAMBDA_PACKAGES, allowed)
    assert not foreign, "the Lambda would need what it does not ship:\n" + _lines(foreign)


@pytest.mark.parametrize("package", sorted(LAMBDA_PACKAGES))
def test_no_import_cycle_among_the_modules_of_a_lambda_package(package: str) -> None:
    # runtime.config -> runtime.adapters.registry closes no cycle: the registry reaches
    # runtime.adapters.base (which imports runtime.config) only under TYPE_CHECKING and
    # by computed name, neither of which is an import statement that runs.
    cycle = find_cycle(graph_of(_edges(), modules_of(ROOT, [package])))
    assert cycle is None, "import cycle: " + describe_cycle(_edges(), cycle, by_package=False)


# --- the checker itself, on planted packages ---


def _plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_cycle_of_lazy_imports_is_reported_with_its_statements(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "alpha/__init__.py": "",
            "alpha/a.py": "def f():\n    from beta import b\n    return b\n",
            "beta/__init__.py": "",
            "beta/b.py": "def g():\n    import alpha.a\n    return alpha.a\n",
        },
    )
    edges = imports_of(root, ["alpha", "beta"])
    cycle = find_cycle(package_graph(edges))
    assert cycle in (["alpha", "beta", "alpha"], ["beta", "alpha", "beta"])
    report = describe_cycle(edges, cycle, by_package=True)
    assert "alpha/a.py:2: alpha.a imports beta.b (lazy)" in report
    assert "beta/b.py:2: beta.b imports alpha.a (lazy)" in report
    modules = modules_of(root, ["alpha", "beta"])
    assert find_cycle(graph_of(edges, modules)) is not None


def test_relative_imports_reach_the_module_they_name(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "alpha/__init__.py": "from . import a\n",
            "alpha/a.py": "from .sub.c import X\n",
            "alpha/sub/__init__.py": "",
            "alpha/sub/c.py": "def f():\n    from ..a import Y\n    from .. import a\n",
        },
    )
    edges = imports_of(root, ["alpha"])
    found = {(edge.importer, edge.imported, edge.lazy) for edge in edges}
    assert found == {
        ("alpha", "alpha.a", False),
        ("alpha.a", "alpha.sub.c", False),
        ("alpha.sub.c", "alpha.a", True),
    }
    assert find_cycle(graph_of(edges, modules_of(root, ["alpha"]))) == [
        "alpha.a",
        "alpha.sub.c",
        "alpha.a",
    ]


def test_type_checking_imports_are_no_edge_but_their_else_branch_is(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "alpha/__init__.py": (
                "import typing\nfrom typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    import beta\n"
                "if typing.TYPE_CHECKING:\n    import beta.b\nelse:\n    import gamma\n"
            ),
            "beta/__init__.py": "import alpha\n",
            "beta/b.py": "",
            "gamma/__init__.py": "",
        },
    )
    edges = imports_of(root, ["alpha", "beta", "gamma"])
    assert package_graph(edges) == {"alpha": {"typing", "gamma"}, "beta": {"alpha"}}
    assert find_cycle(package_graph(edges)) is None


def test_a_forbidden_import_in_the_lambda_packages_is_reported(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "runtime/__init__.py": "import json\nimport httpx\nfrom contract import manifest\n",
            "runtime/handler.py": "def handle():\n    from compiler import pipeline\n    import lark\n",
            "contract/__init__.py": "",
            "contract/manifest.py": "import pydantic\n",
            "compiler/__init__.py": "",
            "compiler/pipeline.py": "import runtime\n",
        },
    )
    edges = imports_of(root, ["runtime", "contract", "compiler"])
    allowed = {"json", "httpx", "pydantic"}
    foreign = outside_imports(edges, LAMBDA_PACKAGES, allowed)
    assert [(edge.importer, edge.imported, edge.lazy) for edge in foreign] == [
        ("runtime.handler", "compiler.pipeline", True),
        ("runtime.handler", "lark", True),
    ]
    layered = layer_violations(edges, LAYERS)
    assert [(edge.importer, edge.imported) for edge in layered] == [
        ("compiler.pipeline", "runtime"),
        ("runtime.handler", "compiler.pipeline"),
    ]
