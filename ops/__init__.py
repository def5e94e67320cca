"""The operator library: what `siesa client|sync|status` and `siesa demo` call.

Plain functions over boto3. Each takes an optional keyword `deployment`
(endpoint and resource names); without one it acts on `AWS_ENDPOINT_URL`
when set (the embedded AWS of `siesa local up`), else on real AWS.
Failures are `OpsError`s whose message is one line, safe to print.
"""

from __future__ import annotations

from ops.clients import (
    ClientList,
    ClientView,
    SecretInfo,
    add_client,
    disable_client,
    enable_client,
    list_clients,
    show_client,
)
from ops.deployment import Deployment
from ops.errors import (
    DeploymentError,
    EndpointError,
    ExecutionNotFound,
    InputError,
    OpsError,
    UnknownClient,
    WriteFailed,
)
from ops.schedule import Schedule
from ops.status import ClientStatus, StatusReport, status
from ops.sync import (
    Progress,
    StartedSync,
    SyncOutcome,
    read_summary,
    run_sync,
    start_sync,
    wait,
)
from ops.validation import NewClient, check_new_client, rule_name

__all__ = [
    "ClientList",
    "ClientStatus",
    "ClientView",
    "Deployment",
    "DeploymentError",
    "EndpointError",
    "ExecutionNotFound",
    "InputError",
    "NewClient",
    "OpsError",
    "Progress",
    "Schedule",
    "SecretInfo",
    "StartedSync",
    "StatusReport",
    "SyncOutcome",
    "UnknownClient",
    "WriteFailed",
    "add_client",
    "check_new_client",
    "disable_client",
    "enable_client",
    "list_clients",
    "read_summary",
    "rule_name",
    "run_sync",
    "show_client",
    "start_sync",
    "status",
    "wait",
]
