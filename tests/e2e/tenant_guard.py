"""A botocore hook on every client of the process that fails tenant-data calls not made in a tenant session.

What counts as tenant data: a secret `siesa-integration/{client}/...`, an
object or listing under `runs/` of the config bucket, an item of the tables
it is given: clients, runs, request budgets (docs/security.md, row 9). The guard registers itself in
botocore's built-in handlers, so every session (and so every client) made
after `guarding` starts carries it, whoever makes it: the runtime's ambient
clients, its tenant clients, a transfer thread's, moto's own.

The handlers' ambient credentials are told apart by their access key: while
guarding, the process environment (which only the runtime's ambient clients
read: the operator library and the embedded AWS's own clients pass keys of
their own) holds FUNCTION_KEY, as a Lambda's environment holds its role's
credentials. A call on tenant data signed with FUNCTION_KEY is a violation; so
is one signed by a tenant session of another client than the data's. Each
violation is recorded and the call fails with `TenantGuardViolation`.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers
import pytest

from runtime import aws as aws_clients
from runtime import mapping_loader, secrets, tenant_session

FUNCTION_KEY = "FUNCTIONROLEAMBIENT"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_CONTEXT_KEY = "tenant_guard_call"


class TenantGuardViolation(Exception):
    """A call on tenant data was not signed by that tenant's session."""


@dataclass
class TenantGuard:
    """What the hook saw: tenant-data calls by (service, signer kind), violations, sessions.

    Signer kinds: "tenant" (a tenant session), "function" (the handlers' own
    credentials: a violation), "other" (an operator's or the embedded AWS's own).
    """

    bucket: str
    tables: frozenset[str]
    violations: list[str] = field(default_factory=list)
    checked: Counter[tuple[str, str]] = field(default_factory=Counter)
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the three hooks ---------------------------------------------------------------

    def remember_call(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        """before-parameter-build: keep what the call names, for the check at send time."""
        context[_CONTEXT_KEY] = (model.service_model.service_name, model.name, dict(params))

    def remember_session(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """after-call.sts.AssumeRole: which client's tag each issued access key carries."""
        call = context.get(_CONTEXT_KEY)
        credentials = (parsed or {}).get("Credentials")
        if call is None or not credentials:
            return
        tags = {tag["Key"]: tag["Value"] for tag in call[2].get("Tags", [])}
        with self._lock:
            self.sessions[credentials["AccessKeyId"]] = (
                tags.get("client_id", ""),
                call[2].get("RoleArn", ""),
            )

    def check(self, request: Any, **_: Any) -> None:
        """before-send: a call on tenant data must be signed by that tenant's session."""
        call = (request.context or {}).get(_CONTEXT_KEY)
        if call is None:
            return
        service, operation, params = call
        touched = self.tenant_of(service, params)
        if touched is None:
            return
        signer = self.signer(request)
        with self._lock:
            session = self.sessions.get(signer)
            if signer == FUNCTION_KEY:
                problem = "with the function's own credentials"
            elif session is not None and session[0] != touched:
                problem = f"in the session of {session[0]!r}"
            else:
                problem = None
            kind = "function" if signer == FUNCTION_KEY else "tenant" if session else "other"
            self.checked[(service, kind)] += 1
            if problem is not None:
                message = f"{service}:{operation} on {touched or 'every client'!r}'s data {problem}"
                self.violations.append(message)
        if problem is not None:
            raise TenantGuardViolation(message)

    # --- what a call touches ---------------------------------------------------------------

    def tenant_of(self, service: str, params: dict[str, Any]) -> str | None:
        """The client whose data the call reaches ("" for several or none named); None: not tenant data."""
        if service == "secretsmanager":
            name = str(params.get("SecretId", ""))
            if "siesa-integration/" in name:
                return name.split("siesa-integration/", 1)[1].split("/", 1)[0]
            return None
        if service == "s3":
            if params.get("Bucket") != self.bucket:
                return None
            path = str(params.get("Key", params.get("Prefix", "")))
            if "Key" not in params and not path:
                return ""  # a listing of the whole bucket
            if not path.startswith("runs/"):
                return None
            return path.split("/")[1] if path.count("/") >= 2 else ""
        if service == "dynamodb":
            if params.get("TableName") not in self.tables:
                return None
            key = params.get("Key") or {}
            return str(key.get("client_id", {}).get("S", ""))
        return None

    @staticmethod
    def signer(request: Any) -> str:
        """The access key a request is signed with (its Authorization header's Credential)."""
        header = request.headers.get("Authorization", "")
        if isinstance(header, bytes):
            header = header.decode()
        found = _CREDENTIAL.search(header)
        return found.group(1) if found else ""


def reset_runtime_clients() -> None:
    """Make every runtime client anew, so each carries the hooks in force now."""
    aws_clients.reset_clients()
    tenant_session.reset()
    secrets.clear_cache()
    mapping_loader.clear_cache()


@contextmanager
def guarding(bucket: str, tables: set[str]) -> Iterator[TenantGuard]:
    """The guard on every client made from now on, the handlers' ambient key FUNCTION_KEY."""
    guard = TenantGuard(bucket, frozenset(tables))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            botocore.handlers,
            "BUILTIN_HANDLERS",
            [
                *botocore.handlers.BUILTIN_HANDLERS,
                ("before-parameter-build", guard.remember_call),
                ("after-call.sts.AssumeRole", guard.remember_session),
                ("before-send", guard.check),
            ],
        )
        patch.setenv("AWS_ACCESS_KEY_ID", FUNCTION_KEY)
        reset_runtime_clients()
        try:
            yield guard
        finally:
            reset_runtime_clients()
