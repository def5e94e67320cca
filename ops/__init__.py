"""The operator library: what `siesa client|sync|status` and `siesa demo` call.

Plain functions over boto3. Each takes an optional keyword `deployment`
(endpoint and resource names); without one it acts on `AWS_ENDPOINT_URL`
when set (the embedded AWS of `siesa local up`), else on real AWS.
Failures are `OpsError`s whose message is one line, safe to print.
"""

from __future__ import annotations

from ops.client_changes import (
    CredentialsChange,
    Removal,
    removal_plan,
    remove_client,
    set_credentials,
    set_limits,
    set_schedule,
)
from ops.clients import (
    AddPlan,
    ClientList,
    ClientView,
    SecretInfo,
    add_client,
    disable_client,
    enable_client,
    list_clients,
    plan_add_client,
    show_client,
)
from ops.connection_check import CheckReport, ConnectionCheckFailed, check_client
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
    SyncPlan,
    plan_sync,
    read_summary,
    run_sync,
    start_sync,
    wait,
)
from ops.validation import NewClient, check_new_client, rule_name

__all__ = [
    "AddPlan",
    "CheckReport",
    "ClientList",
    "ClientStatus",
    "ClientView",
    "ConnectionCheckFailed",
    "CredentialsChange",
    "Deployment",
    "DeploymentError",
    "EndpointError",
    "ExecutionNotFound",
    "InputError",
    "NewClient",
    "OpsError",
    "Progress",
    "Removal",
    "Schedule",
    "SecretInfo",
    "StartedSync",
    "StatusReport",
    "SyncOutcome",
    "SyncPlan",
    "UnknownClient",
    "WriteFailed",
    "add_client",
    "check_client",
    "check_new_client",
    "disable_client",
    "enable_client",
    "list_clients",
    "plan_add_client",
    "plan_sync",
    "read_summary",
    "removal_plan",
    "remove_client",
    "rule_name",
    "run_sync",
    "set_credentials",
    "set_limits",
    "set_schedule",
    "show_client",
    "start_sync",
    "status",
    "wait",
]
