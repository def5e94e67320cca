"""`siesa bundle` and `siesa deploy` as an operator runs them (in process, against the embedded AWS)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from cli.app import app
from local.embedded_aws import LocalAws
from ops.deploy.build import Build

RUNNER = CliRunner()


def test_bundle_prints_each_artefacts_path_size_and_sha256(
    tmp_path: Path, wheel_cache: Path, built: Build
) -> None:
    result = RUNNER.invoke(
        app, ["bundle", "--out", str(tmp_path / "dist"), "--wheel-cache", str(wheel_cache)]
    )
    assert result.exit_code == 0, result.output
    for artefact in built.artefacts:  # the same inputs built elsewhere: the same hashes
        assert artefact.sha256 in result.stdout
        assert f"{artefact.size:,} bytes" in result.stdout
    assert str(tmp_path / "dist" / "siesa-runtime-lambda.zip") in result.stdout
    assert "python3.11 x86_64" in result.stdout


def test_bundle_json_is_one_object_with_the_record(tmp_path: Path, wheel_cache: Path) -> None:
    result = RUNNER.invoke(
        app,
        [
            "bundle",
            "--out",
            str(tmp_path),
            "--wheel-cache",
            str(wheel_cache),
            "--no-bytecode",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["record"]["lambda_package"]["bytecode"] is False
    with zipfile.ZipFile(tmp_path / "siesa-runtime-lambda.zip") as archive:
        assert not [name for name in archive.namelist() if "__pycache__" in name]
    assert [Path(item["path"]).name for item in document["artefacts"]] == [
        "siesa-runtime-lambda.zip",
        "siesa-mappings.zip",
    ]


def test_a_broken_mapping_is_an_error_not_a_traceback(tmp_path: Path, wheel_cache: Path) -> None:
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "kong.map").write_text("mapping kong\nthis is not a mapping\n")
    result = RUNNER.invoke(
        app,
        [
            "bundle",
            "--out",
            str(tmp_path / "dist"),
            "--mappings",
            str(tmp_path / "maps"),
            "--wheel-cache",
            str(wheel_cache),
        ],
    )
    assert result.exit_code == 1
    assert "error: the mappings in" in result.stderr and "kong.map:2:" in result.stderr
    assert "Traceback" not in result.output


def test_deploy_prints_outputs_then_a_second_run_changes_nothing(built: Build) -> None:
    with LocalAws() as aws:
        arguments = [
            "deploy",
            "--environment",
            "test",
            "--stack-name",
            "siesa-cli",
            "--package",
            str(built.out_dir),
            "--endpoint-url",
            aws.url,
            "--poll-seconds",
            "0",
        ]
        first = RUNNER.invoke(app, arguments)
        assert first.exit_code == 0, first.output
        assert "Stack siesa-cli outputs" in first.stdout
        assert "siesa-integration-config" in first.stdout
        assert "CREATE_COMPLETE" in first.stderr
        assert "stack siesa-cli created" in first.stderr

        second = RUNNER.invoke(app, [*arguments, "--json"])
        assert second.exit_code == 0, second.output
        report = json.loads(second.stdout)
        assert (report["outcome"], report["changed"]) == ("unchanged", False)
        assert report["outputs"]["ConfigBucketName"] == "siesa-integration-config"
        assert report["package_sha256"] == built.package.sha256

        third = RUNNER.invoke(app, arguments)
        assert third.exit_code == 0, third.output
        assert "no changes" in third.stderr


def test_a_failed_deploy_exits_1_naming_the_resource(built: Build) -> None:
    with LocalAws() as aws:
        aws.client("s3").create_bucket(Bucket="siesa-integration-config")
        result = RUNNER.invoke(
            app,
            [
                "deploy",
                "--environment",
                "prod",
                "--package",
                str(built.out_dir),
                "--endpoint-url",
                aws.url,
                "--poll-seconds",
                "0",
            ],
        )
    assert result.exit_code == 1
    assert "error: stack siesa-integration failed" in result.stderr
    assert "ConfigBucket (AWS::S3::Bucket)" in result.stderr
    assert "Traceback" not in result.output


def test_an_unknown_parameter_exits_1_before_touching_aws(built: Build) -> None:
    result = RUNNER.invoke(
        app,
        [
            "deploy",
            "--environment",
            "test",
            "--package",
            str(built.out_dir),
            "--parameter",
            "Memory=1024",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 1
    assert "the template has no parameter Memory" in result.stderr
