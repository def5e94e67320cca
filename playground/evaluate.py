"""One keystroke's work: check and compile the typed text, run it over the sample records.

Everything shown is what the CLI prints for the same text, made by the same
code: diagnostics as `siesa map check` renders them (path:line:col, the line,
a caret), the example results of `siesa map test`, and each record's outcome
and the closing line of `siesa map run` (compiler/apply.py). The text is
compiled in-process by the real compiler and its module loaded through the
contract's loader, exactly as `siesa map run` does; the work is bounded by
the text's size, the number of records (playground/samples.py) and a time
budget, so a typo cannot hang the page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.apply import Mapped, Tally, apply_one
from compiler.codegen import generate
from compiler.examples import run_examples
from compiler.pipeline import CompiledMapping, check_file
from contract import jsontext
from contract.errors import BundleContractError
from dsl.diagnostics import MapError
from playground.samples import Samples

MAX_SOURCE_BYTES = 1024 * 1024
"""Larger text is refused unchecked: checking it could take longer than a keystroke should."""
TIME_BUDGET_SECONDS = 2.0
"""Records are mapped until this much time has passed since the first one began."""


@dataclass(frozen=True)
class Workspace:
    """The `.map` file being typed: where it is (for `extends`), how it is shown, its root."""

    path: Path
    display: str
    root: Path
    product_types: Collection[str] | None = None


def _json(value: object) -> str:
    """A record as the product gets it (a Decimal with its own digits), indented to be read."""
    return jsontext.dumps(value, indent=2)


def _compile(source: str, workspace: Workspace) -> CompiledMapping:
    """The typed text checked (with what it extends, from disk) and its module generated."""
    mapping = check_file(
        workspace.path,
        root=workspace.root,
        display=workspace.display,
        product_types=workspace.product_types,
        overlay={workspace.display: source},
    )
    return CompiledMapping(mapping, generate(mapping))


def _refused(workspace: Workspace, message: str) -> dict[str, Any]:
    return {"compiled": False, "diagnostics": f"{workspace.display}: error: {message}"}


def evaluate(
    source: str,
    workspace: Workspace,
    samples: Samples,
    *,
    budget: float = TIME_BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """What the page shows for `source`: diagnostics, examples, and each record's outcome.

    The time budget is for mapping the records; checking and compiling are bounded by the
    text's size (MAX_SOURCE_BYTES) instead, so a slow first compile still maps records.
    """
    if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
        return _refused(workspace, f"the text is larger than {MAX_SOURCE_BYTES // 1024} KiB")
    try:
        compiled = _compile(source, workspace)
        mapping = compiled.load()
    except MapError as exc:
        return {"compiled": False, "diagnostics": exc.render()}
    except OSError as exc:
        return _refused(workspace, f"cannot read a file it extends: {exc.strerror or exc}")
    except BundleContractError as exc:
        return _refused(workspace, f"the generated module does not load: {exc}")
    report = run_examples(compiled, workspace.display)
    examples = [failure.render() for failure in report.failures] + [report.summary()]
    result: dict[str, Any] = {
        "compiled": True,
        "diagnostics": compiled.mapping.warnings.render(),
        "examples": "\n\n".join(examples),
        "outputs": [],
        "rejected": [],
        "skipped": [],
        "warnings": [],
        "stopped": None,
    }
    inputs = samples.inputs(compiled, workspace.display)
    started = clock()
    tally = Tally()
    for done, item in enumerate(inputs):
        if clock() - started > budget:
            result["stopped"] = (
                f"stopped after {done} of {len(inputs)} record(s): "
                f"the {budget:g} s a keystroke may take ran out"
            )
            break
        for outcome in apply_one(mapping, item, workspace.root):
            tally.add(outcome)
            if isinstance(outcome, Mapped):
                result["outputs"].append(_output(outcome))
            else:
                result[_LISTS[outcome.kind]].append(outcome.text)
    result["summary"] = tally.line()
    return result


_LISTS: dict[str, str] = {"rejected": "rejected", "skipped": "skipped", "warning": "warnings"}


def _output(outcome: Mapped) -> dict[str, Any]:
    record_id = outcome.canonical.get("id")
    return {
        "where": outcome.where,
        "id": None if record_id is None else str(record_id),
        "product": _json(outcome.product),
        "canonical": _json(outcome.canonical),
    }
