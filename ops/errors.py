"""What the operator library raises: one line each, saying what is wrong and what to do.

Every message is safe to print: none carries a secret value (credentials
are validated by key name only, and AWS errors are reduced to their code and
message, which never hold a secret we sent).
"""

from __future__ import annotations


class OpsError(Exception):
    """An operator-facing failure; `str(exc)` is the whole story in one line."""


class InputError(OpsError):
    """A file or value the operator gave is wrong; nothing was written."""


class ClientIsDisabled(InputError):
    """The client is disabled: nothing of it runs until it is enabled."""


class UnknownClient(OpsError):
    """No client with this id is registered."""


class DeploymentError(OpsError):
    """A deploy failed or cannot start, or the deployment lacks what a command needs.

    The message names the step or resource (stack, state machine, role,
    bundle, parameter) and the reason.
    """


class EndpointError(OpsError):
    """AWS (or the embedded AWS) cannot be reached, or refused our credentials."""


class WriteFailed(OpsError):
    """A write failed part way; what had been written was undone (the message says if not)."""


class ExecutionNotFound(OpsError):
    """No workflow execution with this ARN."""


class RunInProgress(OpsError):
    """Another run of the client holds its run lease: one run per client at a time."""
