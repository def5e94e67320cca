"""What to do next after a failure: one line naming the command (or the secret) that fixes it.

Pure: the error's name (the runtime's error class, which is also the name
the workflow records), the client and what is known of the run go in; one
line comes out. A refused credential names the secret that holds it
(`siesa-integration/{client}/{system}`, never its value) and the command
that replaces it. Every failure summary and operator error ends with such a
line, so the operator never has to guess the next command.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime import errors
from runtime.secrets import SECRET_PREFIX

PRODUCT_PLACEHOLDER = "<product_type>"
"""Stands for the product type when it is not known (the secret's last part)."""


def secret_name(client_id: str, system: str) -> str:
    """The Secrets Manager name of a client's credentials for `system` (siesa, kong, wms)."""
    return f"{SECRET_PREFIX}/{client_id}/{system}"


@dataclass(frozen=True)
class RunContext:
    """What is known of the run that failed (all optional)."""

    product_type: str | None = None
    run_id: str | None = None
    sync_type: str | None = None


def _error_class(name: str | None) -> type[BaseException] | None:
    """The runtime error class of this name, when there is one."""
    found = getattr(errors, name or "", None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def _is(name: str | None, *kinds: type[BaseException]) -> bool:
    found = _error_class(name)
    return found is not None and issubclass(found, kinds)


def sync_again(client_id: str, sync_type: str | None = None) -> str:
    """The command that runs a client's sync again and follows it."""
    return f"siesa sync --client {client_id} --sync-type {sync_type or 'incremental'} --wait"


def credentials_step(client_id: str, system: str) -> str:
    """Which secret was refused and the command that replaces it."""
    option = "--siesa" if system == "siesa" else "--product"
    return (
        f"the credentials in secret {secret_name(client_id, system)} were refused; "
        f"replace them: siesa client set-credentials {client_id} {option} FILE"
    )


def next_step_for(error: str | None, client_id: str, run: RunContext | None = None) -> str | None:
    """The next step for an error of this name; None when there is nothing specific to say."""
    known = run or RunContext()
    product = known.product_type or PRODUCT_PLACEHOLDER
    if _is(error, errors.SiesaAuthError):
        return credentials_step(client_id, "siesa")
    if _is(error, errors.ProductAuthError):
        return credentials_step(client_id, product)
    if error == "InvalidSecret":
        return (
            f"store valid credentials: siesa client set-credentials {client_id} "
            "--siesa FILE (or --product FILE); the error names the secret"
        )
    if error in ("ClientDisabled", "ClientIsDisabled"):
        return f"siesa client enable {client_id}"
    if error in ("ClientNotFound", "UnknownClient"):
        return "siesa client list (the registered clients), or siesa client add"
    if error == "RunInProgress":
        return f"siesa status --client {client_id}, and start again once that run has ended"
    if _is(error, errors.TransientError):
        side = "Siesa" if (error or "").startswith("Siesa") else "the product"
        return (
            f"{side} kept failing through the retries (the cause says how); once it answers, "
            f"{sync_again(client_id, known.sync_type)}"
        )
    return None


def after_sync(status: str, error: str | None, client_id: str, run: RunContext) -> str | None:
    """The next-step line of a sync's summary; None after a success."""
    if status == "success":
        return None
    if status == "partial":
        target = f" --run {run.run_id}" if run.run_id else ""
        return (
            "fix the failed records in the ERP or the mapping (they are listed above), then "
            f"siesa replay --client {client_id}{target}"
        )
    if status == "refused":
        return next_step_for("RunInProgress", client_id, run)
    specific = next_step_for(error, client_id, run)
    if specific is not None:
        return specific
    return (
        f"see the client's runs with siesa status --client {client_id}; once the cause is "
        f"fixed, {sync_again(client_id, run.sync_type)}"
    )


def after_replay(client_id: str, run_id: str, still_failing: int) -> str | None:
    """The next-step line of a replay; None when every record now passes."""
    if still_failing <= 0:
        return None
    return (
        f"{still_failing:,} record(s) still fail for the reasons above: correct them in the ERP "
        f"or the mapping, then siesa replay --client {client_id} --run {run_id} again"
    )
