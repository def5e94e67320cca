"""Provision the embedded AWS from the same template and definition that AWS gets.

`provision(aws)` deploys infra/template.yaml on moto's CloudFormation (after
uploading what the template's parameters point at: a placeholder Lambda
package and the state machine definition), creates the executing state machine
from infra/statemachine.asl.json with the template's placeholders filled from
the stack outputs, compiles `mappings/*.map` and uploads the bundle as a
version under `s3://<config bucket>/mappings/versions/` signed with the
stack's mapping-signing key (and makes it the current one, as `siesa deploy` does),
and exports the names and ARNs to the process (`MAPPINGS_SIGNING_KEY_ARN` too,
`SECRETS_KMS_KEY_ARN`, the key client secrets are created with, and each
stage's tenant role, `EXTRACTOR_TENANT_ROLE_ARN`...: the handlers running in
this process reach a client's data through a session of it, moto's STS
answering AssumeRole as AWS does; moto enforces no IAM, tests/infra
evaluates the policies).

moto's CloudFormation creates every KMS key symmetric, so the signing key
is made through the KMS API from the template resource's own `KeySpec` and
`KeyUsage` (ops/deploy/signing.py, `usable_signing_key`) and that key is the
one exported: the handlers and commands verify with it exactly as on AWS.

Why the state machine is created here as well: moto's CloudFormation keeps
state machines in a store its interpreter does not read (moto 5.2.5), so the
stack's state machine exists but cannot execute. The definition is still the
one file, filled the way `DefinitionSubstitutions` fills it on AWS.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, WaiterError
from moto.cloudformation.parsing import get_model_map

from contract.manifest import MANIFEST_NAME
from local.embedded_aws import LocalAws
from mappings import MAPPINGS_DIR
from ops.deploy import infra
from ops.deploy.artefacts import (
    OwnedBucket,
    ensure_bucket,
    upload_content_addressed,
    upload_mapping_bundle,
)
from ops.deploy.deploy import deploy_principal_arn
from ops.deploy.signing import SIGNING_KEY_OUTPUT, ManifestSigner, usable_signing_key
from ops.deploy.stack import StackEvent, root_causes, stack_outputs
from ops.deployment import SECRETS_KEY_ENV, SECRETS_KEY_OUTPUT
from ops.errors import DeploymentError
from runtime import settings

DEFAULT_STACK_NAME = "siesa-integration"
ARTIFACTS_BUCKET = "siesa-integration-artifacts"
MAPPINGS_PREFIX = "mappings/"

CompileBundle = Callable[[Sequence[Path], Path], Any]

# Stack outputs exported to the process (what `siesa` commands and handlers read).
_EXPORTED_OUTPUTS = {
    "STATE_MACHINE_ARN": "StateMachineArn",
    "CLIENTS_TABLE": "ClientsTableName",
    "RUNS_TABLE": "RunsTableName",
    settings.BUDGETS_TABLE_ENV: "BudgetsTableName",
    settings.DEDUP_TABLE_ENV: "DedupTableName",
    "CONFIG_BUCKET": "ConfigBucketName",
    "ALERTS_TOPIC_ARN": "AlertsTopicArn",
    "MAPPINGS_SIGNING_KEY_ARN": SIGNING_KEY_OUTPUT,
    SECRETS_KEY_ENV: SECRETS_KEY_OUTPUT,
    # each in-process handler opens its tenant sessions with its stage's role, as on AWS
    **{
        settings.tenant_role_env(stage): f"{stage.capitalize()}TenantRoleArn"
        for stage in ("extractor", "transformer", "loader")
    },
}

_PLACEHOLDER_PACKAGE_NOTE = (
    "The embedded AWS runs the handlers in the process of `siesa local up`;\n"
    "this package only satisfies the template's Code property.\n"
)


class ProvisionError(Exception):
    """Provisioning failed; the message names the step and the resource."""


@dataclass(frozen=True)
class ProvisionResult:
    """What the embedded AWS now holds."""

    stack_name: str
    outputs: dict[str, str]
    state_machine_arn: str
    mapping_manifest: dict[str, Any] | None = None
    mapping_keys: tuple[str, ...] = field(default_factory=tuple)
    # logical id -> type of template resources moto's CloudFormation does not create
    skipped_resources: dict[str, str] = field(default_factory=dict)

    @property
    def environment(self) -> dict[str, str]:
        """Environment variables that point a process at these resources."""
        return {name: self.outputs[key] for name, key in _EXPORTED_OUTPUTS.items()}


def provision(
    aws: LocalAws,
    *,
    stack_name: str = DEFAULT_STACK_NAME,
    environment: str = "test",
    parameters: Mapping[str, str] | None = None,
    mappings_dir: Path | None = MAPPINGS_DIR,
    compile_bundle: CompileBundle | None = None,
    template_path: Path = infra.TEMPLATE_PATH,
    definition_path: Path = infra.DEFINITION_PATH,
) -> ProvisionResult:
    """Deploy the stack, create the executing workflow, upload the mapping bundle, export names.

    `mappings_dir=None` skips the bundle. `compile_bundle` defaults to
    `compiler.bundle.compile_paths`.
    """
    template_text = _read(template_path)
    template = infra.load_template(template_path)
    definition = infra.load_definition(definition_path)
    with tempfile.TemporaryDirectory(prefix="siesa-bundle-") as scratch:
        # compile first: a broken mapping stops provisioning before anything is deployed
        bundle = None
        if mappings_dir is not None:
            bundle = _compile_bundle(mappings_dir, compile_bundle, Path(scratch) / "bundle")
        artifacts = _upload_artifacts(aws, definition)
        caller = str(aws.client("sts").get_caller_identity()["Arn"])
        stack_parameters = {
            "Environment": environment,
            "DeployRoleArn": deploy_principal_arn(caller),
            "ArtifactsBucket": ARTIFACTS_BUCKET,
            "LambdaCodeKey": artifacts["code"],
            "StateMachineDefinitionKey": artifacts["definition"],
            **(parameters or {}),
        }
        outputs = _deploy_stack(aws, stack_name, template_text, stack_parameters)
        kms = aws.client("kms")
        outputs[SIGNING_KEY_OUTPUT] = usable_signing_key(
            kms, outputs[SIGNING_KEY_OUTPUT], template, embedded_aws=True
        )
        signer = ManifestSigner(kms, outputs[SIGNING_KEY_OUTPUT])
        state_machine_arn = _create_workflow(aws, template, definition, outputs)
        manifest: dict[str, Any] | None = None
        keys: tuple[str, ...] = ()
        if bundle is not None:
            manifest = json.loads((bundle / MANIFEST_NAME).read_text(encoding="utf-8"))
            keys = _upload_bundle(aws, outputs["ConfigBucketName"], bundle, signer)
    result = ProvisionResult(
        stack_name, outputs, state_machine_arn, manifest, keys, _skipped_resources(template)
    )
    aws.export(result.environment)
    return result


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProvisionError(f"cannot read {path}: {exc}") from exc


def _placeholder_package() -> bytes:
    """A fixed zip (fixed timestamp) so the same run always uploads the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("LOCAL-ENGINE.txt", date_time=(1980, 1, 1, 0, 0, 0))
        archive.writestr(info, _PLACEHOLDER_PACKAGE_NOTE)
    return buffer.getvalue()


def _upload_artifacts(aws: LocalAws, definition: str) -> dict[str, str]:
    """What the template's ArtifactsBucket parameters name, under content-addressed keys."""
    artefacts = OwnedBucket(aws.client("s3"), ARTIFACTS_BUCKET, aws.account_id)
    try:
        ensure_bucket(artefacts, aws.region, harden=False)
    except (ClientError, DeploymentError) as exc:
        raise ProvisionError(f"cannot create bucket {ARTIFACTS_BUCKET}: {exc}") from exc
    code = upload_content_addressed(artefacts, "lambda/local-", _placeholder_package(), ".zip")
    steps = upload_content_addressed(artefacts, "statemachine/", definition.encode(), ".asl.json")
    return {"code": code.key, "definition": steps.key}


def _deploy_stack(
    aws: LocalAws, stack_name: str, template_text: str, parameters: Mapping[str, str]
) -> dict[str, str]:
    """Create the stack (or reuse it when this server already has it) and return its outputs."""
    cloudformation = aws.client("cloudformation")
    try:
        existing = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError:
        existing = []
    if not existing:
        try:
            cloudformation.create_stack(
                StackName=stack_name,
                TemplateBody=template_text,
                Parameters=[
                    {"ParameterKey": key, "ParameterValue": value}
                    for key, value in sorted(parameters.items())
                ],
                Capabilities=["CAPABILITY_NAMED_IAM"],
            )
            status = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
            if status["StackStatus"] != "CREATE_COMPLETE":
                cloudformation.get_waiter("stack_create_complete").wait(
                    StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
                )
        except (ClientError, WaiterError) as exc:
            raise ProvisionError(
                f"stack {stack_name} failed: {_failure_reason(cloudformation, stack_name, exc)}"
            ) from exc
    return stack_outputs(cloudformation, stack_name)


def _skipped_resources(template: Mapping[str, Any]) -> dict[str, str]:
    """Template resources whose type moto's CloudFormation cannot create (alarms, bucket policy...)."""
    supported = set(get_model_map())
    return {
        name: body["Type"]
        for name, body in sorted(template["Resources"].items())
        if body["Type"] not in supported
    }


def _failure_reason(cloudformation: Any, stack_name: str, exc: Exception) -> str:
    """The failed resources and their reasons, root cause first, else the API error."""
    try:
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
    except ClientError:
        return str(exc)
    causes = root_causes(StackEvent.of(event) for event in reversed(events))
    return "; ".join(event.describe() for event in causes) if causes else str(exc)


def _create_workflow(
    aws: LocalAws, template: Mapping[str, Any], definition: str, outputs: Mapping[str, str]
) -> str:
    """The executing state machine: the definition file, placeholders filled from the outputs."""
    rendered = infra.render_definition(definition, infra.definition_values(template, outputs))
    _, resource = infra.state_machine_resource(template)
    name = resource["Properties"]["StateMachineName"]
    role_arn = outputs["StepFunctionsRoleArn"]
    stepfunctions = aws.client("stepfunctions")
    try:
        arn: str = stepfunctions.create_state_machine(
            name=name, definition=rendered, roleArn=role_arn, type="STANDARD"
        )["stateMachineArn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "StateMachineAlreadyExists":
            raise ProvisionError(f"state machine {name} refused: {exc}") from exc
        arn = outputs["StateMachineArn"]
        stepfunctions.update_state_machine(stateMachineArn=arn, definition=rendered)
    if arn != outputs["StateMachineArn"]:
        raise ProvisionError(f"state machine {arn} is not the stack's {outputs['StateMachineArn']}")
    return arn


def _default_compile_bundle() -> CompileBundle:
    try:
        from compiler.bundle import compile_paths
    except ImportError as exc:
        raise ProvisionError(f"cannot compile the mappings: {exc}") from exc
    return compile_paths


def _compile_bundle(
    mappings_dir: Path, compile_bundle: CompileBundle | None, out_dir: Path
) -> Path | None:
    """Compile every `.map` under `mappings_dir` (clients/ too) into `out_dir`; None if there are none."""
    if not any(mappings_dir.rglob("*.map")):
        return None
    compile_paths = compile_bundle or _default_compile_bundle()
    try:
        compile_paths([mappings_dir], out_dir)
    except Exception as exc:  # the compiler's MapError lists every problem of every file
        raise ProvisionError(f"compiling the mappings in {mappings_dir} failed:\n{exc}") from exc
    if not (out_dir / MANIFEST_NAME).is_file():
        raise ProvisionError(f"compiling {mappings_dir} wrote no {MANIFEST_NAME}")
    return out_dir


def _upload_bundle(
    aws: LocalAws, bucket: str, bundle: Path, signer: ManifestSigner
) -> tuple[str, ...]:
    """Upload the bundle as a version under mappings/versions/ and make it current."""
    try:
        uploads = upload_mapping_bundle(
            OwnedBucket(aws.client("s3"), bucket, aws.account_id), bundle, MAPPINGS_PREFIX, signer
        )
    except DeploymentError as exc:
        raise ProvisionError(str(exc)) from exc
    return tuple(upload.key for upload in uploads.uploads)
