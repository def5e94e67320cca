"""`siesa bundle` and `siesa deploy`: build the artefacts, then put the platform on AWS.

What a script reads goes to stdout (the artefact table, the outputs table, or
one JSON object with --json); progress, stack events and errors go to stderr.
A failure prints `error: ...` naming the step, resource and reason, and exits 1.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.common import EndpointUrl, JsonFlag, err, operator_errors, out, print_json
from contract.versions import short
from ops.deploy.build import (
    DEFAULT_MAPPINGS_DIR,
    DEFAULT_TEMPLATE,
    DEFAULT_WHEEL_CACHE,
    Build,
    build_bundles,
    read_build,
)
from ops.deploy.deploy import DEFAULT_DEFINITION, DeployReport, DeployRequest, deploy
from ops.deploy.parameters import parse_assignments
from ops.deploy.stack import StackEvent
from ops.deployment import DEFAULT_STACK_NAME, STACK_NAME_ENV, Deployment

OutDir = Annotated[
    Path, typer.Option("--out", help="Where the artefacts are written.", show_default=True)
]
MappingsDir = Annotated[
    Path, typer.Option("--mappings", help="Directory of .map files to compile into the bundle.")
]
WheelCache = Annotated[
    Path,
    typer.Option(
        "--wheel-cache",
        help="Cache of manylinux wheels; filled once from PyPI, then builds work offline.",
    ),
]
NoBytecode = Annotated[
    bool,
    typer.Option(
        "--no-bytecode", help="Ship sources only (slower cold starts; see docs/deploy.md)."
    ),
]


class EnvironmentName(StrEnum):
    """The template's Environment: log retention and whether alarms notify."""

    test = "test"
    prod = "prod"


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def _artefact_lines(build: Build) -> list[str]:
    """Each artefact's path, size and SHA-256 on lines of their own (never cut to a width)."""
    lines: list[str] = []
    for label, artefact in (
        ("Lambda package", build.package),
        ("mapping bundle", build.mapping_zip),
    ):
        lines += [
            f"{label}: {artefact.path}",
            f"  size    {artefact.size:,} bytes",
            f"  sha256  {artefact.sha256}",
        ]
    package = build.record["lambda_package"]
    lines += [
        f"  (Lambda package: {package['runtime']} {package['architecture']}, "
        f"{package['platform']}, {len(package['distributions'])} distributions, "
        f"bytecode {'included' if package['bytecode'] else 'not included'})",
        f"mapping bundle directory: {build.mapping_dir} "
        f"({', '.join(build.record['mapping_bundle']['mappings'])})",
    ]
    return lines


def _build_json(build: Build) -> dict[str, Any]:
    return {
        "out": str(build.out_dir),
        "artefacts": [
            {"path": str(artefact.path), "size": artefact.size, "sha256": artefact.sha256}
            for artefact in build.artefacts
        ],
        "mapping_dir": str(build.mapping_dir),
        "record": build.record,
    }


def bundle_command(
    out_dir: OutDir = Path("dist"),
    mappings: MappingsDir = DEFAULT_MAPPINGS_DIR,
    wheel_cache: WheelCache = DEFAULT_WHEEL_CACHE,
    no_bytecode: NoBytecode = False,
    json_output: JsonFlag = False,
) -> None:
    """Build the Lambda package and the compiled mapping bundle (reproducible; prints SHA-256s)."""
    with operator_errors():
        if not json_output:
            err().print(f"building into {out_dir} (wheel cache {wheel_cache})", highlight=False)
        build = build_bundles(
            out_dir, mappings_dir=mappings, wheel_cache=wheel_cache, bytecode=not no_bytecode
        )
    if json_output:
        print_json(_build_json(build))
    else:
        console = out()
        for line in _artefact_lines(build):
            console.print(_escape(line), highlight=False)


def _print_event(event: StackEvent) -> None:
    style = "red" if event.failed else ("green" if event.status.endswith("COMPLETE") else "cyan")
    reason = f"  {_escape(event.reason)}" if event.reason else ""
    err().print(
        f"  [{style}]{event.status:<28}[/] {event.logical_id} ({event.resource_type}){reason}",
        highlight=False,
    )


def _note(message: str) -> None:
    err().print(_escape(message), highlight=False)


def _outputs_table(report: DeployReport) -> Table:
    stack = report.stack
    table = Table(title=f"Stack {stack.stack_name} outputs", title_justify="left")
    table.add_column("output")
    table.add_column("value")
    for key, value in sorted(stack.outputs.items()):
        table.add_row(key, value)
    return table


def _report_json(report: DeployReport, build: Build) -> dict[str, Any]:
    stack = report.stack
    return {
        "stack_name": stack.stack_name,
        "outcome": stack.outcome,
        "status": stack.status,
        "where": report.where,
        "changed": report.changed,
        "changes": [
            {"action": change.action, "logical_id": change.logical_id, "type": change.resource_type}
            for change in stack.changes
        ],
        "outputs": stack.outputs,
        "parameters": report.parameters,
        "artifacts_bucket": report.artifacts_bucket,
        "artefacts": [
            {"bucket": item.bucket, "key": item.key, "sha256": item.sha256, "written": item.written}
            for item in report.artefact_uploads
        ],
        "mapping_bundle": [
            {"key": item.key, "written": item.written} for item in report.bundle_uploads
        ],
        "mapping_bundle_version": report.bundle_version,
        "package_sha256": build.package.sha256,
    }


def _summary(report: DeployReport) -> str:
    stack = report.stack
    written = sum(item.written for item in report.bundle_uploads)
    bundle = (
        f"mapping bundle: {written} file(s) uploaded" if written else "mapping bundle unchanged"
    ) + f" (version {short(report.bundle_version)}, current)"
    if stack.outcome == "unchanged":
        head = f"no changes: stack {stack.stack_name} already matches"
    else:
        head = f"stack {stack.stack_name} {stack.outcome} ({stack.status}, {len(stack.changes)} change(s))"
    return f"{head}; {bundle}"


def deploy_command(
    environment: Annotated[
        EnvironmentName,
        typer.Option(
            "--environment", help="test: 7-day logs, alarms silent; prod: 30 days, alarms notify."
        ),
    ],
    stack_name: Annotated[
        str, typer.Option("--stack-name", envvar=STACK_NAME_ENV, help="The CloudFormation stack.")
    ] = DEFAULT_STACK_NAME,
    alert_email: Annotated[
        str | None,
        typer.Option(
            "--alert-email", help="Subscribe this address to the alerts topic.", show_default=False
        ),
    ] = None,
    package: Annotated[
        Path | None,
        typer.Option(
            "--package",
            help="Deploy what `siesa bundle` built there instead of building now.",
            show_default=False,
        ),
    ] = None,
    out_dir: OutDir = Path("dist"),
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            "--parameter",
            help="Another template parameter, KEY=VALUE (repeatable).",
            show_default=False,
        ),
    ] = None,
    artifacts_bucket: Annotated[
        str | None,
        typer.Option(
            "--artifacts-bucket",
            help="Bucket for the package (default: siesa-integration-artifacts-ACCOUNT-REGION).",
            show_default=False,
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="AWS region (default: $AWS_REGION).", show_default=False),
    ] = None,
    mappings: MappingsDir = DEFAULT_MAPPINGS_DIR,
    wheel_cache: WheelCache = DEFAULT_WHEEL_CACHE,
    poll_seconds: Annotated[
        float, typer.Option("--poll-seconds", help="How often to read the stack's events.", min=0.0)
    ] = 5.0,
    endpoint_url: EndpointUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Upload the bundles, create and execute a change set, wait, print the stack's outputs."""
    with operator_errors():
        if package is not None:
            build = read_build(package)
        else:
            if not json_output:
                err().print(f"building into {out_dir}", highlight=False)
            build = build_bundles(out_dir, mappings_dir=mappings, wheel_cache=wheel_cache)
        request = DeployRequest(
            stack_name=stack_name,
            environment=environment.value,
            alert_email=alert_email,
            parameters=parse_assignments(parameter or []),
            artifacts_bucket=artifacts_bucket,
            template_path=DEFAULT_TEMPLATE,
            definition_path=DEFAULT_DEFINITION,
        )
        deployment = Deployment(endpoint_url, region=region, stack_name=stack_name)
        if not json_output:
            err().print(f"deploying stack {stack_name} to {deployment.where}", highlight=False)
        report = deploy(
            build,
            request,
            deployment=deployment,
            on_event=None if json_output else _print_event,
            on_note=None if json_output else _note,
            poll_seconds=poll_seconds,
        )
    if json_output:
        print_json(_report_json(report, build))
        return
    err().print(_escape(_summary(report)), highlight=False)
    out().print(_outputs_table(report))


def mount_deploy_commands(app: typer.Typer) -> None:
    """Add `bundle` and `deploy` to the `siesa` app."""
    app.command("bundle")(bundle_command)
    app.command("deploy")(deploy_command)
