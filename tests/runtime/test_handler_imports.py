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
