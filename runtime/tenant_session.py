"""Tenant sessions: a client's data is reached only through a role session tagged with its id.

Each stage has a tenant role (infra/template.yaml: ExtractorTenantRole,
TransformerTenantRole, LoaderTenantRole) whose policies are scoped by
`${aws:PrincipalTag/client_id}`; the function's own role reads no tenant data
and may only assume its stage's tenant role with the session tag `client_id`.
So every call on a client's secret, `runs/` objects, client item and run
history goes through `TenantSession.client(...)`: STS AssumeRole into the
role named by `{STAGE}_TENANT_ROLE_ARN`, tagged `client_id`, with a session
name naming client and stage (CloudTrail shows who read what).

Credentials are kept per (role, client) until REFRESH_MARGIN_SECONDS before
they expire, so a run that starts with them finishes with them; boto3 clients
on them come from `runtime.aws` (one cache key per credentials), and are
dropped when the credentials are renewed.

Where no tenant role is configured: the local engine and the tests without a
stack (`ENVIRONMENT=local`) use the ambient session; on AWS (`test`, `prod`)
`session_for` raises `TenantRoleNotConfigured`, so a deploy that lost the
variable fails closed instead of falling back to the function's own role.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runtime import aws, observability, settings
from runtime.api_url import on_local_engine
from runtime.config import validate_client_id
from runtime.errors import TenantRoleNotConfigured, TenantSessionRefused

TAG_KEY = "client_id"
SESSION_SECONDS = 3600
"""A Lambda role assuming another is role chaining: AWS allows at most one hour."""
REFRESH_MARGIN_SECONDS = 15 * 60
"""The longest a Lambda invocation runs: credentials taken at its start outlive it."""
MAX_SESSIONS = 64
"""Tenants whose credentials a container keeps; the least recently used go first."""
_REFUSED = frozenset({"AccessDenied", "AccessDeniedException", "InvalidClientTokenId"})


@dataclass(frozen=True)
class _Held:
    credentials: aws.Credentials
    expires_at: float  # time.time() seconds


_lock = threading.Lock()
_held: OrderedDict[tuple[str, str, str], _Held] = OrderedDict()


@dataclass(frozen=True)
class TenantSession:
    """AWS clients that reach one client's data, as one stage's tenant role allows."""

    stage: str
    client_id: str
    role_arn: str

    def client(self, service_name: str) -> Any:
        """A boto3 client signing with this tenant's session credentials."""
        return aws.client(service_name, credentials=self.credentials())

    def credentials(self) -> aws.Credentials:
        """The session's credentials, assumed anew when none are held or they expire soon."""
        key = (self.role_arn, self.client_id, aws.endpoint_marker("sts"))
        with _lock:
            held = _held.get(key)
            if held is not None and held.expires_at - time.time() > REFRESH_MARGIN_SECONDS:
                _held.move_to_end(key)
                return held.credentials
            fresh = self._assume()
            _held[key] = fresh
            _held.move_to_end(key)
            stale = [held] if held is not None else []
            while len(_held) > MAX_SESSIONS:
                stale.append(_held.popitem(last=False)[1])
        for old in stale:
            aws.forget_credentials(old.credentials.access_key_id)
        return fresh.credentials

    @property
    def session_name(self) -> str:
        """`cliente-a@extractor`: what CloudTrail shows as the session (64 characters at most)."""
        return f"{self.client_id}@{self.stage}"[:64]

    def _assume(self) -> _Held:
        try:
            response = aws.client("sts").assume_role(
                RoleArn=self.role_arn,
                RoleSessionName=self.session_name,
                DurationSeconds=SESSION_SECONDS,
                Tags=[{"Key": TAG_KEY, "Value": self.client_id}],
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _REFUSED:
                raise TenantSessionRefused(
                    f"the {self.stage} may not open a session of {self.role_arn} for client "
                    f"{self.client_id!r} ({code})"
                ) from None
            raise
        given = response["Credentials"]
        credentials = aws.Credentials(
            access_key_id=given["AccessKeyId"],
            secret_access_key=given["SecretAccessKey"],
            session_token=given["SessionToken"],
        )
        observability.register_secret(credentials.secret_access_key)
        return _Held(credentials, given["Expiration"].timestamp())


def session_for(stage: str, client_id: str) -> TenantSession | None:
    """The tenant session of `client_id` for `stage`; None (the ambient session) only locally.

    TenantRoleNotConfigured on AWS when the stage's role variable is not set.
    """
    client_id = validate_client_id(client_id)
    role_arn = settings.tenant_role_arn(stage)
    if role_arn is None:
        if on_local_engine():
            return None
        raise TenantRoleNotConfigured(
            f"{settings.tenant_role_env(stage)} is not set: the {stage} reads a client's data "
            "only through its tenant role, never with the function's own role"
        )
    return TenantSession(stage, client_id, role_arn)


def reset() -> None:
    """Forget every held session (tests start each AWS mock afresh)."""
    with _lock:
        stale = list(_held.values())
        _held.clear()
    for old in stale:
        aws.forget_credentials(old.credentials.access_key_id)


def _unlock_in_forked_child() -> None:
    """A forked child (the local engine's Lambda sandbox) must not inherit a lock held at the fork."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_unlock_in_forked_child)
