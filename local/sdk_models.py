"""The AWS SDK's data files, parsed in the engine's process before its first child is forked.

The runtime reads the SDK's data (service models, endpoint rules, the
endpoints table) through one loader per process (`runtime.aws.new_session`),
which keeps what it parsed across forks. The local engine's Lambda sandbox
(`lambda_sandbox`) forks a child per invocation, whose clients are all new:
`preload` makes one client per service here first, so every child inherits
the parsed data (each child parsing it itself cost about 0.3 s per client
on the shared machine, most of a child's cost).
"""

from __future__ import annotations

from collections.abc import Iterable

from runtime.aws import new_session

SERVICES = ("s3", "dynamodb", "sts", "secretsmanager", "kms", "sns", "stepfunctions", "logs")
"""The services the handlers (runtime/) and a child's log sink call, preloaded for the children."""


def preload(region: str, endpoint_url: str, services: Iterable[str] = SERVICES) -> None:
    """Make one client per service, so the data its clients need is parsed here."""
    for service in services:
        new_session().client(service, region_name=region, endpoint_url=endpoint_url)
