"""Every recipe of the mapping language's cookbook compiles and its examples pass.

The cookbook (docs/mapping-language.md, section "Cookbook") is what people
copy first; a recipe that no longer compiles, or whose example no longer
holds, fails here. Each recipe is a fenced ```map block holding a whole file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler.examples import run_examples
from compiler.pipeline import compile_source

LANGUAGE_DOC = Path(__file__).resolve().parents[2] / "docs" / "mapping-language.md"
MINIMUM_RECIPES = 15


def cookbook_recipes() -> list[tuple[str, str]]:
    """(recipe heading, .map text) for each ```map block under the cookbook's headings."""
    text = LANGUAGE_DOC.read_text(encoding="utf-8")
    start = text.find("\n## Cookbook")
    assert start >= 0, "docs/mapping-language.md has no `## Cookbook` section"
    end = text.find("\n## ", start + 1)
    section = text[start : end if end >= 0 else len(text)]
    recipes = []
    heading = ""
    for match in re.finditer(r"^### ([^\n]+)$|^```map\n(.*?)^```$", section, re.S | re.M):
        if match.group(1) is not None:
            heading = match.group(1).strip()
        else:
            recipes.append((heading, match.group(2)))
    return recipes


RECIPES = cookbook_recipes()


def test_the_cookbook_has_enough_recipes_each_with_examples() -> None:
    headings = [heading for heading, _ in RECIPES]
    assert len(RECIPES) >= MINIMUM_RECIPES
    assert len(set(headings)) == len(headings), "each recipe has its own heading"
    assert all("\nexample " in body for _, body in RECIPES)


@pytest.mark.parametrize(("heading", "body"), RECIPES, ids=[h for h, _ in RECIPES])
def test_each_recipe_compiles_and_its_examples_pass(heading: str, body: str) -> None:
    compiled = compile_source(body, "recipe.map")
    assert compiled.mapping.examples, f"{heading}: a recipe shows at least one example"
    report = run_examples(compiled, "recipe.map")
    assert report.ok, "\n".join(failure.render() for failure in report.failures)
