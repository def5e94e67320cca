"""`siesa deploy`: the built artefacts into S3, the stack through a change set, then the mappings.

Order, and why:
1. Parameters are resolved and checked first: a typo fails before anything is written.
2. The Lambda package and the state machine definition go to the artefacts
   bucket under content-addressed keys (the template's `ArtifactsBucket`,
   `LambdaCodeKey`, `StateMachineDefinitionKey`); the template itself too when
   it is too big to send inline. With Lambda code signing on, the functions
   get the signed package the operator names instead (ops/deploy/code_signing.py).
3. The stack is brought to the template by one change set (ops/deploy/stack.py).
4. The mapping bundle goes to the stack's config bucket as a version under
   `mappings/versions/{sha256}/`, which the stack creates, modules first and
   the manifest last, signed with the stack's `MappingsSigningKey`
   (ops/deploy/signing.py): the deploy role, `DeployRoleArn` (by default the
   caller), is the only principal that may sign. Then `mappings/current.json`
   names it: unpinned clients use it from the next run (`siesa map promote`
   goes back).
An unchanged second deploy uploads nothing, finds an empty change set and
says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import DEFINITION_PATH
from ops.deploy.artefacts import (
    OwnedBucket,
    Upload,
    ensure_bucket,
    upload_content_addressed,
    upload_mapping_bundle,
)
from ops.deploy.build import DEFAULT_TEMPLATE, Build
from ops.deploy.code_signing import CODE_KEY_PARAMETER, check_signed, package_key
from ops.deploy.parameters import check_given, resolve_parameters
from ops.deploy.signing import SIGNING_KEY_OUTPUT, ManifestSigner, usable_signing_key
from ops.deploy.stack import (
    NEVER_CREATED,
    EventSink,
    NoteSink,
    StackDeployment,
    TemplateSource,
    deploy_stack,
    stack_parameters,
    stack_status,
)
from ops.deployment import Deployment, is_loopback_url, reaching_aws
from ops.errors import DeploymentError
from runtime import settings

DEFAULT_DEFINITION = DEFINITION_PATH
TEMPLATE_BODY_LIMIT = 51_200  # bytes CloudFormation accepts as TemplateBody
LAMBDA_PREFIX = "lambda/siesa-runtime-"
DEFINITION_PREFIX = "statemachine/"
TEMPLATE_PREFIX = "templates/"


@dataclass(frozen=True)
class DeployRequest:
    """What the operator asked for."""

    stack_name: str
    environment: str
    alert_email: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    artifacts_bucket: str | None = None
    template_path: Path = DEFAULT_TEMPLATE
    definition_path: Path = DEFAULT_DEFINITION


@dataclass(frozen=True)
class DeployReport:
    """What a deploy did."""

    stack: StackDeployment
    where: str
    artifacts_bucket: str
    parameters: dict[str, str]
    artefact_uploads: tuple[Upload, ...]
    bundle_uploads: tuple[Upload, ...]
    signing_key_arn: str = ""
    bundle_version: str = ""

    @property
    def changed(self) -> bool:
        """False when nothing was written anywhere."""
        uploads = self.artefact_uploads + self.bundle_uploads
        return self.stack.outcome != "unchanged" or any(upload.written for upload in uploads)


def default_artifacts_bucket(account_id: str, region: str) -> str:
    """`siesa-integration-artifacts-<account>-<region>`: unique per account and region."""
    return f"siesa-integration-artifacts-{account_id}-{region}"


def deploy_principal_arn(caller_arn: str) -> str:
    """The IAM principal behind the caller's identity: an assumed role's role, or a user.

    A role with a path cannot be told from its session ARN: pass
    `--parameter DeployRoleArn=...` then. The account root is refused.
    """
    match = re.fullmatch(
        r"arn:(?P<part>aws[a-z-]*):(?:sts|iam)::(?P<account>[0-9]{12}):"
        r"(?:assumed-role/(?P<role>[^/]+)/.+|user/(?P<user>.+))",
        caller_arn,
    )
    if match is None:
        raise DeploymentError(
            f"cannot tell the deploy role from the caller {caller_arn}; "
            "pass --parameter DeployRoleArn=arn:aws:iam::ACCOUNT:role/NAME"
        )
    kind, name = ("role", match["role"]) if match["role"] else ("user", match["user"])
    return f"arn:{match['part']}:iam::{match['account']}:{kind}/{name}"


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeploymentError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None


def _template(path: Path) -> tuple[str, dict[str, Any]]:
    from ops.deploy.infra import InfraError, load_template

    text = _read(path, "template")
    try:
        return text, load_template(path)
    except InfraError as exc:
        raise DeploymentError(str(exc)) from None


def _s3_url(bucket: str, key: str, region: str) -> str:
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def deploy(
    build: Build,
    request: DeployRequest,
    *,
    deployment: Deployment,
    on_event: EventSink | None = None,
    on_note: NoteSink | None = None,
    poll_seconds: float = 5.0,
    timeout_seconds: float = 3600.0,
    template_body_limit: int = TEMPLATE_BODY_LIMIT,
) -> DeployReport:
    """Deploy `build` as stack `request.stack_name` where `deployment` points (AWS or an endpoint)."""
    template_text, template = _template(request.template_path)
    definition = _read(request.definition_path, "state machine definition").encode()
    given = {"Environment": request.environment, **request.parameters}
    if request.alert_email is not None:
        given["AlertEmail"] = request.alert_email
    check_given(template, given)  # a bad value fails before any AWS call
    cloudformation = deployment.client("cloudformation")
    s3 = deployment.client("s3")
    with reaching_aws(deployment.endpoint_url):
        caller = deployment.client("sts").get_caller_identity()
        account = str(caller["Account"])
        bucket = request.artifacts_bucket or default_artifacts_bucket(account, deployment.region)
        artefacts = OwnedBucket(s3, bucket, account)
        plain_http = (deployment.endpoint_url or "https:").startswith("http:")
        created = ensure_bucket(artefacts, deployment.region, require_tls=not plain_http)
        if created and on_note is not None:
            on_note(f"created the artefacts bucket {bucket}")
        package = upload_content_addressed(
            artefacts, LAMBDA_PREFIX, build.package.path.read_bytes(), ".zip"
        )
        state_machine = upload_content_addressed(
            artefacts, DEFINITION_PREFIX, definition, ".asl.json"
        )
        uploads = [package, state_machine]
        source = TemplateSource(body=template_text)
        if len(template_text.encode()) > template_body_limit:
            stored = upload_content_addressed(
                artefacts, TEMPLATE_PREFIX, template_text.encode(), ".yaml"
            )
            uploads.append(stored)
            source = TemplateSource(url=_s3_url(bucket, stored.key, deployment.region))
        status = stack_status(cloudformation, request.stack_name)
        # a stack whose first create failed holds nothing: its parameters are not a baseline
        live = status is not None and status not in NEVER_CREATED
        previous = stack_parameters(cloudformation, request.stack_name) if live else None
        signed_key = request.parameters.get(CODE_KEY_PARAMETER)
        given.update(
            ArtifactsBucket=bucket,
            LambdaCodeKey=package_key(artefacts, package, signed_key),
            StateMachineDefinitionKey=state_machine.key,
        )
        if "DeployRoleArn" not in given and not (previous or {}).get("DeployRoleArn"):
            given["DeployRoleArn"] = deploy_principal_arn(str(caller["Arn"]))
        parameters = resolve_parameters(template, given, previous)
        check_signed(parameters, package, signed_key)
        stack = deploy_stack(
            cloudformation,
            request.stack_name,
            source,
            parameters,
            template_document=template,
            on_event=on_event,
            on_note=on_note,
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
            embedded_aws=is_loopback_url(deployment.endpoint_url),
        )
        config_bucket = stack.outputs.get("ConfigBucketName")
        if not config_bucket:
            raise DeploymentError(f"stack {request.stack_name} has no ConfigBucketName output")
        key_arn = stack.outputs.get(SIGNING_KEY_OUTPUT)
        if not key_arn:
            raise DeploymentError(f"stack {request.stack_name} has no {SIGNING_KEY_OUTPUT} output")
        kms = deployment.client("kms")
        key_arn = usable_signing_key(
            kms, key_arn, template, embedded_aws=is_loopback_url(deployment.endpoint_url)
        )
        bundle = upload_mapping_bundle(
            OwnedBucket(s3, config_bucket, account),
            build.mapping_dir,
            settings.DEFAULT_MAPPINGS_PREFIX,
            ManifestSigner(kms, key_arn),
        )
    return DeployReport(
        stack,
        deployment.where,
        bucket,
        parameters,
        tuple(uploads),
        bundle.uploads,
        signing_key_arn=key_arn,
        bundle_version=bundle.version,
    )
