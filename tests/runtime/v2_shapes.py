"""TEST FIXTURE: a compiled module's `map_record` given the shapes of `skip when` and `each`.

Until the compiler generates them (another branch adds the language), the
runtime's handling of skipped records and one-to-many records is tested
against a module the compiler built from a real `.map` file, with this
`map_record` appended: it returns exactly what contract.md says a version 2
module returns. A record with `f_activo == "N"` is skipped (one skip
issue); a record with an `f_bodegas` list becomes one record per warehouse
line, id `{id}-{bodega}`, each line mapped and checked on its own (a bad
`cantidad` rejects that line only, with the line's id and number).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from moto_platform import put_signed_manifest, signed_manifest_bytes

V2_MAP_RECORD = """

_map_one = map_record


def map_record(record):
    if isinstance(record, dict) and record.get("f_activo") == "N":
        return [], [{"record_id": str(record.get("f_codigo")).strip(), "field": None,
                     "line": 90, "file": "kong.map", "value": None,
                     "reason": 'skip when f_activo == "N"', "severity": "info", "action": "skip"}]
    lines = record.get("f_bodegas") if isinstance(record, dict) else None
    if not isinstance(lines, list):
        return _map_one(record)
    records, issues = [], []
    for part, line in enumerate(lines, start=1):
        line_id = f"{str(record.get('f_codigo')).strip()}-{line.get('bodega')}"
        found, line_issues = _map_one({**record, "f_cantidad": line.get("cantidad")})
        for issue in line_issues:
            issue.update(record_id=line_id, part=part)
        issues += line_issues
        records += [{**canonical, "id": line_id} for canonical in found]
    return records, issues
"""


def with_v2_shapes(module_source: str) -> str:
    """A compiled module's source with the version 2 stand-in `map_record` appended."""
    return module_source + V2_MAP_RECORD


def shaped_bundle(bundle_dir: Path, out: Path, name: str = "kong") -> Path:
    """A copy of a compiled bundle whose `name` module carries V2_MAP_RECORD (its hash updated)."""
    out.mkdir(parents=True, exist_ok=True)
    for path in bundle_dir.iterdir():
        shutil.copyfile(path, out / path.name)
    manifest = json.loads((bundle_dir / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["mappings"][name]
    module = out / entry["module"]
    source = with_v2_shapes(module.read_text(encoding="utf-8")).encode("utf-8")
    module.write_bytes(source)
    entry["module_sha256"] = hashlib.sha256(source).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


def add_shaped_mapping(s3: Any, bucket: str, *, base: str = "kong", name: str = "kong-v2") -> str:
    """Add to a deployed bundle mapping `name`: mapping `base` with V2_MAP_RECORD; returns `name`."""
    prefix = "mappings/"
    manifest = json.loads(signed_manifest_bytes(s3, bucket, prefix))
    entry = dict(manifest["mappings"][base])
    source = s3.get_object(Bucket=bucket, Key=prefix + entry["module"])["Body"].read().decode()
    shaped = with_v2_shapes(source.replace(f"'name': {base!r},", f"'name': {name!r},", 1))
    data = shaped.encode("utf-8")
    module = name.replace("-", "_") + ".py"
    s3.put_object(Bucket=bucket, Key=prefix + module, Body=data)
    entry.update(name=name, module=module, module_sha256=hashlib.sha256(data).hexdigest())
    manifest["mappings"][name] = entry
    put_signed_manifest(s3, bucket, json.dumps(manifest).encode(), prefix)
    return name
