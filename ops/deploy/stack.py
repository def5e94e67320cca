"""A CloudFormation stack brought to a template through a change set, watched to the end.

`deploy_stack` creates a change set (CREATE for a new stack, UPDATE
otherwise), waits for it, and either finds it empty (CloudFormation's "The
submitted information didn't contain changes": the change set is deleted and
nothing happens) or executes it and follows the stack's events until the
stack settles. A failed deploy raises `StackFailed`, naming each failed
resource and CloudFormation's reason, root cause first.

The embedded AWS (moto 5.2.5) runs this same path, with three gaps that
are bridged here and nowhere else:
- it executes a change set synchronously and, when a resource cannot be
  created, answers the execute call with that service's error and records
  no failed event ("TODO: handle execution errors and implement rollback");
  the resource is then found by the physical name the error carries;
- a stack built by a change set reports no Outputs, and an executed UPDATE
  change set leaves the stack's recorded parameters stale (so the next
  identical deploy would not compare equal). With `embedded_aws=True` the
  executed template and parameters are applied once more with
  `update_stack`, which moto implements fully; on AWS this never runs.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from ops.errors import DeploymentError

NO_CHANGES_REASONS = ("didn't contain changes", "No updates are to be performed")
CAPABILITIES = ("CAPABILITY_NAMED_IAM",)
STACK_TYPE = "AWS::CloudFormation::Stack"
# Stacks whose first creation failed: nothing lives in them, and they cannot be updated.
NEVER_CREATED = frozenset({"REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"})
_SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
_CANCELLED = ("Resource creation cancelled", "Resource update cancelled")
# Template properties that hold a resource's physical name, for moto's bare errors.
NAME_PROPERTIES = (
    "AlarmName",
    "AliasName",
    "BucketName",
    "DashboardName",
    "FunctionName",
    "LogGroupName",
    "RoleName",
    "StateMachineName",
    "TableName",
    "TopicName",
)

# A JSON error body botocore could not parse: {"__type": "...#Code", "message": "..."}
_JSON_ERROR_TYPE = re.compile(r'"__type":\s*"(?:[^"#]*#)?([^"]+)"')
_JSON_ERROR_MESSAGE = re.compile(r'"message":\s*"([^"]*)"', re.IGNORECASE)

Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class StackEvent:
    """One line of a stack's history."""

    timestamp: datetime | None
    logical_id: str
    resource_type: str
    status: str
    reason: str

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> StackEvent:
        """From a `describe_stack_events` item."""
        return cls(
            event.get("Timestamp"),
            str(event.get("LogicalResourceId", "?")),
            str(event.get("ResourceType", "?")),
            str(event.get("ResourceStatus", "?")),
            str(event.get("ResourceStatusReason", "")),
        )

    @property
    def failed(self) -> bool:
        """A resource (or the stack) reached a *_FAILED status."""
        return self.status.endswith("_FAILED")

    def describe(self) -> str:
        """`ConfigBucket (AWS::S3::Bucket) CREATE_FAILED: reason`."""
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.logical_id} ({self.resource_type}) {self.status}{reason}"


@dataclass(frozen=True)
class ResourceChange:
    """What a change set will do to one resource."""

    action: str  # Add, Modify, Remove, Import, Dynamic
    logical_id: str
    resource_type: str
    replacement: str  # True, False, Conditional, or "" for Add/Remove


@dataclass(frozen=True)
class StackDeployment:
    """How a deploy ended: what changed and the stack's outputs."""

    stack_name: str
    outcome: Outcome
    status: str
    changes: tuple[ResourceChange, ...] = ()
    outputs: dict[str, str] = field(default_factory=dict)


class StackFailed(DeploymentError):
    """The stack did not reach the template; `failures` are the failed resources, root cause first."""

    def __init__(self, stack_name: str, status: str, failures: Sequence[StackEvent]) -> None:
        self.stack_name = stack_name
        self.status = status
        self.failures = tuple(failures)
        if failures:
            detail = "; ".join(event.describe() for event in failures)
        else:
            detail = "CloudFormation recorded no failed resource; see the stack's events"
        super().__init__(f"stack {stack_name} failed ({status}): {detail}")


@dataclass(frozen=True)
class TemplateSource:
    """The template as text (up to 51,200 bytes) or as an S3 URL."""

    body: str | None = None
    url: str | None = None

    def arguments(self) -> dict[str, str]:
        """`TemplateBody=` or `TemplateURL=` for the CloudFormation API."""
        if self.url is not None:
            return {"TemplateURL": self.url}
        if self.body is None:
            raise DeploymentError("no template given")
        return {"TemplateBody": self.body}


EventSink = Callable[[StackEvent], None]
NoteSink = Callable[[str], None]


def _error(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code", "Error")), str(error.get("Message", "")).strip()


def stack_status(cloudformation: Any, stack_name: str) -> str | None:
    """The stack's status; None when there is no such stack."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        code, message = _error(exc)
        if code == "ValidationError" and "does not exist" in message:
            return None
        raise
    return str(stacks[0]["StackStatus"]) if stacks else None


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The stack's outputs by key."""
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs") or []}


def stack_parameters(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The parameter values the stack was last deployed with."""
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {
        item["ParameterKey"]: item.get("ResolvedValue", item.get("ParameterValue", ""))
        for item in stack.get("Parameters") or []
    }


def physical_names(template: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, str]:
    """Physical name -> logical id, for names the template spells out or takes from a parameter."""
    names: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {}) if isinstance(resource, dict) else {}
        for key in NAME_PROPERTIES:
            value = properties.get(key)
            if isinstance(value, dict) and set(value) == {"Ref"}:
                value = parameters.get(str(value["Ref"]))
            if isinstance(value, str) and value:
                names[value] = logical_id
    return names


def root_causes(events: Iterable[StackEvent]) -> list[StackEvent]:
    """Failed resource events, oldest first, the ones only cancelled by another failure last.

    The stack's own `*_FAILED` line repeats what its resources said, so it is
    kept only when no resource failed.
    """
    failed = [event for event in events if event.failed]
    resources = [event for event in failed if event.resource_type != STACK_TYPE]
    chosen = resources or failed
    own = [event for event in chosen if not event.reason.startswith(_CANCELLED)]
    cancelled = [event for event in chosen if event.reason.startswith(_CANCELLED)]
    return own + cancelled


class _Watcher:
    """Reads a stack's events newer than the ones seen before the deploy started."""

    def __init__(self, cloudformation: Any, stack_name: str, on_event: EventSink | None) -> None:
        self._cloudformation = cloudformation
        self._stack_name = stack_name
        self._on_event = on_event
        self._seen: set[str] = set()
        self.events: list[StackEvent] = []
        # the newest page is the baseline: anything later is listed before it
        self._seen.update(event_id for event_id, _ in self._fetch(pages=1))

    def _fetch(self, pages: int | None = None) -> list[tuple[str, StackEvent]]:
        """Events newest first, stopping at the first one already seen (or after `pages` pages)."""
        found: list[tuple[str, StackEvent]] = []
        paginator = self._cloudformation.get_paginator("describe_stack_events")
        try:
            for number, page in enumerate(paginator.paginate(StackName=self._stack_name), 1):
                for event in page.get("StackEvents", []):
                    event_id = str(event.get("EventId"))
                    if event_id in self._seen:
                        return found
                    found.append((event_id, StackEvent.of(event)))
                if pages is not None and number >= pages:
                    return found
        except ClientError as exc:
            code, message = _error(exc)
            if code == "ValidationError" and "does not exist" in message:
                return found
            raise
        return found

    def poll(self) -> None:
        """Record (and pass on) the events that arrived since the last poll, oldest first."""
        for event_id, event in reversed(self._fetch()):
            self._seen.add(event_id)
            self.events.append(event)
            if self._on_event is not None:
                self._on_event(event)


def _wait_for_change_set(
    cloudformation: Any, stack_name: str, change_set: str, poll_seconds: float, deadline: float
) -> dict[str, Any]:
    while True:
        described: dict[str, Any] = cloudformation.describe_change_set(
            StackName=stack_name, ChangeSetName=change_set
        )
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return described
        if time.monotonic() > deadline:
            raise DeploymentError(
                f"change set {change_set} of stack {stack_name} is still being created"
            )
        time.sleep(poll_seconds)


def _changes(
    cloudformation: Any, stack_name: str, described: Mapping[str, Any]
) -> tuple[ResourceChange, ...]:
    items = list(described.get("Changes", []))
    token = described.get("NextToken")
    while token:
        page = cloudformation.describe_change_set(
            StackName=stack_name, ChangeSetName=described["ChangeSetId"], NextToken=token
        )
        items.extend(page.get("Changes", []))
        token = page.get("NextToken")
    changes = []
    for item in items:
        change = item.get("ResourceChange", {})
        changes.append(
            ResourceChange(
                str(change.get("Action", "?")),
                str(change.get("LogicalResourceId", "?")),
                str(change.get("ResourceType", "?")),
                str(change.get("Replacement", "")),
            )
        )
    return tuple(changes)


def _wait_for_stack(
    cloudformation: Any,
    stack_name: str,
    watcher: _Watcher,
    poll_seconds: float,
    deadline: float,
) -> str:
    """Poll until the stack records a settled status of its own after the execute call; return it.

    Waiting for the stack's own event (not just its status) matters on AWS:
    right after the execute call the status may still be the previous
    deploy's `UPDATE_COMPLETE`.
    """
    while True:
        watcher.poll()
        settled = any(
            event.resource_type == STACK_TYPE
            and event.logical_id == stack_name
            and not event.status.endswith("_IN_PROGRESS")
            for event in watcher.events
        )
        status = stack_status(cloudformation, stack_name) or "DELETE_COMPLETE"
        if settled and not status.endswith("_IN_PROGRESS"):
            watcher.poll()
            return status
        if time.monotonic() > deadline:
            raise DeploymentError(
                f"stack {stack_name} is still {status}; follow it in the CloudFormation console"
            )
        time.sleep(poll_seconds)


def _clear_never_created(
    cloudformation: Any,
    stack_name: str,
    status: str,
    poll_seconds: float,
    deadline: float,
    on_note: NoteSink | None,
) -> None:
    """Delete a stack whose first creation never finished: it holds nothing and blocks a new create."""
    if on_note is not None:
        on_note(f"stack {stack_name} is {status} from an earlier failed create; deleting it first")
    cloudformation.delete_stack(StackName=stack_name)
    while (current := stack_status(cloudformation, stack_name)) not in (None, "DELETE_COMPLETE"):
        if current == "DELETE_FAILED" or time.monotonic() > deadline:
            raise DeploymentError(
                f"cannot delete the failed stack {stack_name} ({current}); delete it by hand"
            )
        time.sleep(poll_seconds)


def _refused_execution(
    stack_name: str,
    exc: ClientError | BotoCoreError | ResponseParserError,
    names: Mapping[str, str],
    template: Mapping[str, Any],
) -> StackFailed:
    """A failed execute call (moto) as a StackFailed naming the resource the error is about.

    moto answers with the failing service's error, sometimes in that service's
    own protocol (botocore then cannot parse it and raises ResponseParserError
    holding the body); either way the text carries the resource's name.
    """
    if isinstance(exc, ClientError):
        code, message = _error(exc)
        error = exc.response.get("Error", {})
        texts = [str(value) for value in error.values() if isinstance(value, str)]
    else:
        text = str(exc)
        code_match = _JSON_ERROR_TYPE.search(text)
        message_match = _JSON_ERROR_MESSAGE.search(text)
        code = code_match.group(1) if code_match else "Error"
        message = message_match.group(1) if message_match else text.strip().splitlines()[-1]
        texts = [text]
    resources = template.get("Resources", {})
    for name, logical_id in sorted(names.items(), key=lambda item: -len(item[0])):
        if any(name in text for text in texts):
            resource_type = str(resources.get(logical_id, {}).get("Type", "?"))
            event = StackEvent(
                None, logical_id, resource_type, "CREATE_FAILED", f"{code}: {message}"
            )
            return StackFailed(stack_name, "execution refused", [event])
    stack_event = StackEvent(None, stack_name, STACK_TYPE, "FAILED", f"{code}: {message}")
    return StackFailed(stack_name, "execution refused", [stack_event])


def _record_on_moto(
    cloudformation: Any, stack_name: str, template: TemplateSource, parameters: Mapping[str, str]
) -> None:
    """Apply the executed template and parameters again so moto records outputs and parameters."""
    cloudformation.update_stack(
        StackName=stack_name,
        Parameters=[
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in sorted(parameters.items())
        ],
        Capabilities=list(CAPABILITIES),
        **template.arguments(),
    )


def deploy_stack(
    cloudformation: Any,
    stack_name: str,
    template: TemplateSource,
    parameters: Mapping[str, str],
    *,
    template_document: Mapping[str, Any] | None = None,
    on_event: EventSink | None = None,
    on_note: NoteSink | None = None,
    poll_seconds: float = 5.0,
    timeout_seconds: float = 3600.0,
    embedded_aws: bool = False,
) -> StackDeployment:
    """Bring the stack to `template` with `parameters` through one change set.

    `template_document` (the parsed template) lets a failure that carries only
    a physical name be pinned to its resource. `embedded_aws` bridges moto's
    change-set gaps (see the module docstring).
    """
    deadline = time.monotonic() + timeout_seconds
    status = stack_status(cloudformation, stack_name)
    if status is not None and status in NEVER_CREATED:
        _clear_never_created(cloudformation, stack_name, status, poll_seconds, deadline, on_note)
        status = None
    if status is not None and status.endswith("_IN_PROGRESS"):
        raise DeploymentError(
            f"stack {stack_name} is busy ({status}); wait for it to settle and deploy again"
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        raise DeploymentError(
            f"stack {stack_name} is UPDATE_ROLLBACK_FAILED: continue the rollback "
            "(aws cloudformation continue-update-rollback) before deploying again"
        )
    change_set_type = "CREATE" if status is None else "UPDATE"
    change_set = f"siesa-deploy-{uuid.uuid4().hex[:12]}"
    try:
        cloudformation.create_change_set(
            StackName=stack_name,
            ChangeSetName=change_set,
            ChangeSetType=change_set_type,
            Parameters=[
                {"ParameterKey": key, "ParameterValue": value}
                for key, value in sorted(parameters.items())
            ],
            Capabilities=list(CAPABILITIES),
            Description="siesa deploy",
            **template.arguments(),
        )
    except ClientError as exc:
        code, message = _error(exc)
        raise DeploymentError(
            f"CloudFormation refused the template or its parameters ({code}: {message})"
        ) from None
    described = _wait_for_change_set(cloudformation, stack_name, change_set, poll_seconds, deadline)
    if described["Status"] == "FAILED":
        reason = str(described.get("StatusReason", ""))
        cloudformation.delete_change_set(StackName=stack_name, ChangeSetName=change_set)
        if any(marker in reason for marker in NO_CHANGES_REASONS):
            return StackDeployment(
                stack_name, "unchanged", status or "", (), stack_outputs(cloudformation, stack_name)
            )
        if change_set_type == "CREATE":
            cloudformation.delete_stack(StackName=stack_name)
        raise DeploymentError(
            f"change set for stack {stack_name} failed: {reason or 'no reason given'}"
        )
    changes = _changes(cloudformation, stack_name, described)
    watcher = _Watcher(cloudformation, stack_name, on_event)
    try:
        cloudformation.execute_change_set(StackName=stack_name, ChangeSetName=change_set)
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        names = physical_names(template_document or {}, parameters)
        raise _refused_execution(stack_name, exc, names, template_document or {}) from None
    final = _wait_for_stack(cloudformation, stack_name, watcher, poll_seconds, deadline)
    if final not in _SUCCEEDED:
        raise StackFailed(stack_name, final, root_causes(watcher.events))
    if embedded_aws:
        _record_on_moto(cloudformation, stack_name, template, parameters)
    outcome: Outcome = "created" if change_set_type == "CREATE" else "updated"
    return StackDeployment(
        stack_name, outcome, final, changes, stack_outputs(cloudformation, stack_name)
    )
