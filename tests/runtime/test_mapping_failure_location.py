"""A compiled mapping that raises: the transformer's failed record names the `.map` file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moto_platform import put_signed_manifest

from compiler.pipeline import compile_file
from contract.loaded import sha256_hex
from contract.manifest import Manifest
from runtime import settings
from runtime.handlers.transformer import lambda_handler as transformer
from runtime.sync_state import RunHistory

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
EVENTS = Path(__file__).resolve().parents[1] / "events"


def _upload_raising_kong(aws: Any) -> None:
    """kong.map compiled, its read of `f_nombre` (kong.map:19) made to divide by zero, as a bundle."""
    compiled = compile_file(MAPPINGS / "kong.map", root=MAPPINGS)
    code = compiled.code.replace("v = r = get('f_nombre')", "v = r = 1 // 0", 1)
    assert code != compiled.code and code.count("\n") == compiled.code.count("\n")
    data = code.encode("utf-8")
    entry = compiled.manifest_entry().model_copy(update={"module_sha256": sha256_hex(data)})
    prefix = settings.mappings_prefix()
    manifest = Manifest.of(entry.compiler_version, (entry,)).to_json()
    aws.s3.put_object(Bucket=aws.bucket, Key=prefix + entry.module, Body=data)
    put_signed_manifest(aws.s3, aws.bucket, manifest.encode())


def test_a_failed_record_names_the_map_file_and_line(aws: Any) -> None:
    _upload_raising_kong(aws)
    aws.put_client()
    event = json.loads((EVENTS / "transformer_input.json").read_text())
    page = event["extracted_pages"][0]
    event["extracted_pages"] = [page]
    record = {"f_codigo": "P1", "f_codigo_externo": "E1", "f_nombre": "Camisa", "f_cantidad": 1}
    aws.s3.put_object(Bucket=aws.bucket, Key=page, Body=json.dumps(record).encode())
    RunHistory().start("cliente-a", event["run_id"], sync_type="incremental", started_at="t")

    out = transformer(event, None)

    assert (out["count"], out["rejected_count"]) == (0, 1)
    (reject,) = aws.ndjson(out["rejected_key"])
    assert reject["id"] == "P1"
    assert reject["reason"] == (
        "the mapping failed at kong.map:19: ZeroDivisionError: integer division or modulo by zero"
    )
    (line,) = aws.ndjson(out["validation_errors"]["report_key"])
    assert line["line"] == 19 and line["reason"] == reject["reason"]
