"""The Lambda package: what it holds, that it is reproducible, that the handlers import from it alone."""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from importlib import metadata
from pathlib import Path, PurePosixPath

from ops.deploy.build import Build, build_bundles
from ops.deploy.infra import load_template
from ops.deploy.lambda_layout import isolated_python, link_provided_sdk
from ops.deploy.package import (
    HANDLER_MODULES,
    LAMBDA_PACKAGES,
    build_lambda_package,
    package_dir,
)
from ops.deploy.requirements import runtime_pins
from ops.deploy.target import target_of_template

TARGET = target_of_template(load_template())
RUNTIME_DIR = package_dir("runtime")
# What an installer adds to a distribution's .dist-info; no wheel carries it.
INSTALLER_FILES = frozenset({"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"})


def _names(build: Build) -> list[str]:
    with zipfile.ZipFile(build.package.path) as archive:
        return archive.namelist()


def test_the_package_holds_the_three_handlers(built: Build) -> None:
    names = set(_names(built))
    for module in HANDLER_MODULES:
        assert module.replace(".", "/") + ".py" in names


def _our_files() -> set[str]:
    """The files of the packages of ours the Lambda runs, as they lie in this checkout."""
    assert set(LAMBDA_PACKAGES) == {"runtime", "contract"}
    return {
        f"{package}/{path.relative_to(package_dir(package)).as_posix()}"
        for package in LAMBDA_PACKAGES
        for path in package_dir(package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _dependency_files() -> set[str]:
    """The files pip installed here for the runtime's dependencies, installer records aside."""
    files: set[str] = set()
    for pin in runtime_pins(TARGET):
        for file in metadata.distribution(pin.name).files or []:
            parts = file.parts
            if parts[0] == ".." or "__pycache__" in parts or file.suffix == ".pyc":
                continue  # console scripts land outside site-packages; bytecode is built
            if parts[0].endswith(".dist-info") and parts[-1] in INSTALLER_FILES:
                continue
            files.add(file.as_posix())
    return files


def test_the_package_is_our_lambda_packages_and_the_runtime_dependencies(built: Build) -> None:
    sources = {name for name in _names(built) if not name.endswith(".pyc")}
    ours = _our_files()
    assert "runtime/handlers/extractor.py" in ours and "contract/__init__.py" in ours
    assert sources == ours | _dependency_files()


def test_the_package_holds_no_compiler_dsl_or_operator_code(built: Build) -> None:
    tops = {name.split("/", 1)[0] for name in _names(built)}
    assert not tops & {"dsl", "compiler", "tests", "infra", "mappings", "cli", "ops", "local"}
    # what the operator side needs and Lambda does not
    assert not tops & {"lark", "jinja2", "typer", "rich", "click", "moto", "flask", "yaml"}


def test_the_sdk_is_left_to_the_lambda_runtime(built: Build) -> None:
    tops = {name.split("/", 1)[0] for name in _names(built)}
    assert not tops & {"boto3", "botocore", "s3transfer"}
    assert {
        "pydantic",
        "pydantic_core",
        "httpx",
        "tenacity",
        "aws_lambda_powertools",
        "tzdata",
    } <= tops


def test_entries_are_sorted_dated_1980_with_fixed_modes(built: Build) -> None:
    with zipfile.ZipFile(built.package.path) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {(info.external_attr >> 16) & 0o777 for info in infos}
    assert modes <= {0o644, 0o755}
    assert all(info.extra == b"" for info in infos)


def test_no_installer_records_or_working_tree_bytecode(built: Build) -> None:
    names = _names(built)
    assert not [name for name in names if name.endswith(("/RECORD", "/INSTALLER", "/REQUESTED"))]
    sources = {name for name in names if name.endswith(".py")}
    for name in names:
        if name.endswith(".pyc"):
            path = PurePosixPath(name)
            assert path.parent.name == "__pycache__", name
            assert path.name.endswith(".cpython-311.pyc"), name
            source = path.parent.parent / (path.name.split(".")[0] + ".py")
            assert source.as_posix() in sources, name


def test_compiled_extensions_are_built_for_the_lambda_platform(built: Build) -> None:
    extensions = [name for name in _names(built) if name.endswith(".so")]
    assert extensions  # pydantic-core at least
    for name in extensions:
        assert "cpython-311-x86_64-linux-gnu" in name, name
    package = built.record["lambda_package"]
    assert (package["runtime"], package["architecture"]) == ("python3.11", "x86_64")
    core = next(item for item in package["distributions"] if item["name"] == "pydantic-core")
    assert "manylinux" in core["wheel"] and "x86_64" in core["wheel"]


def test_the_record_pins_the_installed_versions(built: Build) -> None:
    recorded = {
        (item["name"], item["version"]) for item in built.record["lambda_package"]["distributions"]
    }
    assert recorded == {(pin.name, pin.version) for pin in runtime_pins(TARGET)}
    on_disk = json.loads((built.out_dir / "bundle.json").read_text())
    assert on_disk == built.record


def test_building_again_elsewhere_gives_the_same_bytes(
    built: Build, tmp_path: Path, wheel_cache: Path
) -> None:
    again = build_bundles(tmp_path / "somewhere" / "else", wheel_cache=wheel_cache)
    assert again.package.sha256 == built.package.sha256
    assert again.mapping_zip.sha256 == built.mapping_zip.sha256
    assert (again.out_dir / "bundle.json").read_bytes() == (
        built.out_dir / "bundle.json"
    ).read_bytes()


def _runtime_only(source: Path, out: Path, wheel_cache: Path) -> str:
    """SHA-256 of a package of `source` alone (no wheels): quick, and all that differs here."""
    package = build_lambda_package(
        out, cache=wheel_cache, target=TARGET, sources={"runtime": source}, pins=[]
    )
    return package.artefact.sha256


def test_file_times_and_stray_bytecode_do_not_change_the_package(
    tmp_path: Path, wheel_cache: Path
) -> None:
    source = tmp_path / "runtime"
    shutil.copytree(RUNTIME_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    for path in source.rglob("*.py"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
    stray = source / "handlers" / "__pycache__"
    stray.mkdir()
    (stray / "extractor.cpython-311.pyc").write_bytes(b"not from this build")
    assert _runtime_only(source, tmp_path / "a", wheel_cache) == _runtime_only(
        RUNTIME_DIR, tmp_path / "b", wheel_cache
    )


def test_a_changed_source_changes_the_package(tmp_path: Path, wheel_cache: Path) -> None:
    source = tmp_path / "runtime"
    shutil.copytree(RUNTIME_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    before = _runtime_only(source, tmp_path / "a", wheel_cache)
    with (source / "handlers" / "extractor.py").open("a") as handle:
        handle.write("\n# changed\n")
    assert _runtime_only(source, tmp_path / "b", wheel_cache) != before


def test_handlers_import_and_run_with_only_the_package_and_the_sdk(
    lambda_dirs: tuple[Path, Path],
) -> None:
    task, sdk = lambda_dirs
    code = """
import json, os
os.environ.update(AWS_DEFAULT_REGION="us-east-1", POWERTOOLS_METRICS_DISABLED="true", LOG_LEVEL="CRITICAL")
import runtime.handlers.extractor, runtime.handlers.transformer, runtime.handlers.loader
from runtime.errors import InvalidEvent
try:
    runtime.handlers.extractor.lambda_handler({"sync_type": "incremental"}, None)
except InvalidEvent as exc:
    refused = str(exc)
origins = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}
print(json.dumps({"refused": refused, "origins": origins}))
"""
    result = isolated_python([task, sdk], code)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert "client_id" in report["refused"]
    stdlib = Path(sys.base_prefix).resolve()
    for name, origin in report["origins"].items():
        if origin is None:
            continue
        where = Path(origin).resolve()
        allowed = (task.resolve(), stdlib, *(link.resolve() for link in sdk.iterdir()))
        assert any(where.is_relative_to(root) for root in allowed), (name, origin)
        if name.split(".")[0] in ("runtime", "contract", "pydantic", "pydantic_core", "httpx"):
            assert where.is_relative_to(task.resolve()), (name, origin)


def test_the_compiler_is_not_importable_from_the_package(lambda_dirs: tuple[Path, Path]) -> None:
    task, sdk = lambda_dirs
    result = isolated_python([task, sdk], "import compiler")
    assert result.returncode != 0
    assert "No module named 'compiler'" in result.stderr


def test_handlers_load_the_shipped_bytecode(lambda_dirs: tuple[Path, Path]) -> None:
    task, sdk = lambda_dirs
    result = isolated_python([task, sdk], "import runtime.handlers.loader", "-v")
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = [line for line in result.stderr.splitlines() if line.startswith("# code object from")]
    expected = f"{task}/runtime/handlers/__pycache__/loader.cpython-311.pyc"
    assert any(expected in line for line in loaded)
    assert any("/pydantic/__pycache__/" in line and str(task) in line for line in loaded)


def test_the_sdk_stand_in_loads_every_module_from_its_bytecode(tmp_path: Path) -> None:
    # The runtime's SDK is installed compiled; a single-file module (six) linked without its
    # bytecode would be compiled on every import the import benchmark times.
    sdk = link_provided_sdk(tmp_path / "sdk")
    assert (sdk / "six.py").exists()
    result = isolated_python([sdk], "import boto3, six", "-v")
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = [line for line in result.stderr.splitlines() if line.startswith("# code object from")]
    from_sdk = [line for line in loaded if str(sdk) in line]
    assert any(f"{sdk}/__pycache__/six." in line for line in from_sdk)
    assert [line for line in from_sdk if not line.rstrip("'").endswith(".pyc")] == []


def _wheel_tags(build: Build, distribution: str) -> list[str]:
    """The `Tag:` lines of a distribution's WHEEL file in the package."""
    with zipfile.ZipFile(build.package.path) as archive:
        (wheel,) = [
            name
            for name in archive.namelist()
            if name.startswith(f"{distribution}-") and name.endswith(".dist-info/WHEEL")
        ]
        text = archive.read(wheel).decode("utf-8")
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")]


def test_the_re2_wheel_is_one_a_python311_lambda_on_x86_64_accepts(built: Build) -> None:
    # The Lambda python3.11 runtime has glibc 2.26: a manylinux_2_28 wheel would fail to load.
    assert (TARGET.python, TARGET.architecture) == ((3, 11), "x86_64")
    tags = _wheel_tags(built, "google_re2")
    assert tags
    for tag in tags:
        interpreter, abi, platform = tag.split("-")
        assert (interpreter, abi) == ("cp311", "cp311"), tag
        if platform != "manylinux2014_x86_64":
            assert platform.startswith("manylinux_2_") and platform.endswith("_x86_64"), tag
            assert int(platform.split("_")[2]) <= 17, tag
    assert "_re2.cpython-311-x86_64-linux-gnu.so" in _names(built)


def test_the_shipped_re2_runs_a_regex_from_the_package(lambda_dirs: tuple[Path, Path]) -> None:
    task, sdk = lambda_dirs
    code = """
import _re2
regex = _re2.RE2(b"^(a+)+$", _re2.RE2.Options())
whole = _re2.RE2.Anchor.ANCHOR_BOTH
text = b"a" * 31 + b"!"
print(regex.Match(whole, text, 0, len(text))[0][0])
print(_re2.__file__)
"""
    result = isolated_python([task, sdk], code)
    assert result.returncode == 0, result.stderr[-2000:]
    found, origin = result.stdout.splitlines()[-2:]
    assert found == "-1"  # no match, and an answer: RE2 does not backtrack
    assert Path(origin).resolve().is_relative_to(task.resolve())
