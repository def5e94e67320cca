"""The AWS SDK's data files, parsed in the engine's process before its first child is forked.

The runtime reads the SDK's data (service models, endpoint rules, the
endpoints table) through one loader per process (`runtime.aws.new_session`),
which keeps what it parsed across forks. The local engine's Lambda sandbox
(`lambda_sandbox`) forks a child per invocation, whose clients are all new:
`preload` makes one client per service here first, so every child inherits
the parsed data (each child parsing it itself cost about 0.3 s per client
on the shared machine, most of a child's cost).

It also makes here the one TLS context every SDK client and the runtime's
HTTP clients then share, so no child builds one. Building a context takes
OpenSSL's own lock, and a child forked while another engine thread held it
(making a client, signing a request) waited on it forever: the hang the
sandbox's stack dumps showed, in `ssl.SSLContext.__new__`.
"""

from __future__ import annotations

from collections.abc import Iterable
from ssl import SSLContext
from typing import Any

import botocore.httpsession

from runtime.aws import new_session
from runtime.http.connection import _tls_context

SERVICES = ("s3", "dynamodb", "sts", "secretsmanager", "kms", "sns", "stepfunctions", "logs")
"""The services the handlers (runtime/) and a child's log sink call, preloaded for the children."""


def preload(region: str, endpoint_url: str, services: Iterable[str] = SERVICES) -> None:
    """Make one client per service, so the data its clients need is parsed here; share one TLS context."""
    shared = botocore.httpsession.create_urllib3_context()

    def shared_context(self: Any) -> SSLContext:
        return shared

    # every client's session asks for a new context; the engine's children and threads get this one
    botocore.httpsession.URLLib3Session._get_ssl_context = shared_context
    _tls_context()  # the runtime's httpx context, made once per process: made here, before any fork
    for service in services:
        new_session().client(service, region_name=region, endpoint_url=endpoint_url)
