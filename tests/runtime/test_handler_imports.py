"""Each handler imports only what its invocations use: the cold-start cuts stay cut."""

from __future__ import annotations

import subprocess
import sys

from runtime.adapters.registry import get_adapter_class
from runtime.product_types import BUILTIN_ADAPTERS

HEAVY_FOR_TRANSFORMER = (
    "httpx",
    "runtime.siesa",
    "runtime.http",
    "runtime.secrets",
    "runtime.adapters.base",
    "aws_lambda_powertools.utilities.parameters",
)


def loaded_after(code: str, names: tuple[str, ...]) -> list[str]:
    """Which of `names` a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(n for n in {names!r} if n in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def test_transformer_imports_no_siesa_secrets_or_http_stack() -> None:
    assert loaded_after("import runtime.handlers.transformer", HEAVY_FOR_TRANSFORMER) == []


def test_extractor_and_loader_import_what_their_first_call_needs() -> None:
    assert loaded_after(
        "import runtime.handlers.extractor", ("runtime.siesa", "runtime.secrets", "httpx")
    ) == ["runtime.siesa", "runtime.secrets", "httpx"]
    assert loaded_after(
        "import runtime.handlers.loader",
        ("runtime.adapters.base", "runtime.secrets", "runtime.siesa"),
    ) == ["runtime.adapters.base", "runtime.secrets"]


def test_no_handler_imports_an_adapter_its_clients_may_not_use() -> None:
    # The loader imports a product's adapter when a client of that product is first loaded.
    adapters = ("runtime.adapters.kong", "runtime.adapters.wms")
    for handler in ("extractor", "transformer", "loader"):
        assert loaded_after(f"import runtime.handlers.{handler}", adapters) == [], handler
    assert loaded_after("import runtime.handlers.extractor", ("runtime.adapters.base",)) == []


# The pydantic models a handler never validates are built on first use, not with the handler.
MODELS = {
    "SiesaCredentials": "runtime.config",
    "ProductCredentials": "runtime.config",
    "ExtractRequest": "runtime.handlers.events",
    "Extracted": "runtime.handlers.events",
    "Transformed": "runtime.handlers.events",
    "ValidationSummary": "runtime.handlers.events",
}
UNUSED_MODELS = {
    "extractor": {"ProductCredentials", "Transformed", "ValidationSummary"},
    "transformer": {"SiesaCredentials", "ProductCredentials", "ExtractRequest"},
    "loader": {"SiesaCredentials", "ExtractRequest", "Extracted"},
}


def built_after(code: str) -> set[str]:
    """Which of MODELS a fresh interpreter has built (a validator, not a mock) after `code`."""
    probe = (
        f"{code}\nimport importlib\n"
        f"for name, module in {MODELS!r}.items():\n"
        "    if getattr(importlib.import_module(module), name).__pydantic_complete__:\n"
        "        print(name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_a_handler_import_builds_no_model_the_handler_never_validates() -> None:
    for handler, unused in UNUSED_MODELS.items():
        assert not built_after(f"import runtime.handlers.{handler}") & unused, handler


def test_a_model_built_on_first_use_validates_alike_from_many_threads_at_once() -> None:
    # The local engine runs invocations side by side in one process: the first validations
    # of a deferred model may race (pydantic 2.14 builds it under a lock; this pins that it still does).
    code = """
import threading
from runtime.errors import InvalidEvent
from runtime.handlers.events import Transformed, parse_event
event = {
    "client_id": "acme", "product_type": "kong", "sync_type": "initial",
    "run_id": "20250115T100000Z-0123ab", "bucket": "runs-bucket", "extracted_pages": [],
    "count": 0, "extraction_timestamp": "t", "watermark": "2025-01-15T10:00:00Z",
    "canonical_pages": [], "rejected_count": 0, "rejected_key": "k",
    "transformation_timestamp": "t",
    "validation_errors": {"count": 0, "warnings": 0, "by_field": {}, "report_key": "r"},
}
barrier, outcomes = threading.Barrier(8), []
def parse(bad):
    barrier.wait()
    try:
        outcomes.append(type(parse_event(Transformed, {**event, "count": -1} if bad else event, "t")).__name__)
    except InvalidEvent:
        outcomes.append("refused")
threads = [threading.Thread(target=parse, args=(n % 2,)) for n in range(8)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(" ".join(sorted(outcomes)))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["Transformed"] * 4 + ["refused"] * 4


def test_known_product_types_do_not_import_the_adapters() -> None:
    code = (
        "from runtime.product_types import registered_product_types\n"
        "assert {'kong', 'wms'} <= registered_product_types()"
    )
    assert loaded_after(code, ("httpx", "runtime.adapters.kong", "runtime.adapters.wms")) == []


def test_each_builtin_module_registers_the_name_the_registry_expects() -> None:
    for product_type, module in BUILTIN_ADAPTERS.items():
        adapter = get_adapter_class(product_type)
        assert adapter.__module__ == module
        assert adapter.product_type == product_type
