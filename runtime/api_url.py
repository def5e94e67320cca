"""Which API URLs a client may name: the rules that keep a config from steering credentials.

A client's config names the hosts its Siesa, Kong or WMS credentials are sent
to, so a URL is a place a bearer token goes. On AWS (`ENVIRONMENT` test or
prod) an API URL must be `https`, name a public host, and carry nothing that
could take over the request: no `user:password@`, no `?query`, no `#fragment`
(each would change what the platform's own path and parameters mean). A host
that is loopback, private, link-local, unspecified, multicast, reserved or an
instance-metadata address (169.254.169.254, fd00:ec2::254) is refused, and so
is a number a resolver would read as an IPv4 address ("2852039166",
"0xa9fea9fe", "169.254.43518"). Only the local engine (`ENVIRONMENT=local`,
set by `local.embedded_aws.LocalAws` and exported by `siesa local up`) may use
plain `http`, and only to loopback: its simulators listen there.

A host name is not resolved here: a public name that resolves to a private
address is a remaining risk (docs/security.md).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from runtime import settings

LOCAL_ENVIRONMENT = "local"
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
"""The instance metadata service (IMDS), over IPv4 and IPv6."""
MAX_URL_LENGTH = 2048
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
_FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")


def is_loopback_host(host: str) -> bool:
    """True for localhost or a loopback address: the only hosts plain http may reach."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def on_local_engine() -> bool:
    """True when this process is the local engine (or talks to it): `ENVIRONMENT=local`."""
    return settings.environment() == LOCAL_ENVIRONMENT


def check_api_url(url: str, *, local: bool | None = None) -> str:
    """`url` without a trailing slash when it may carry credentials; ValueError saying why not.

    `local` defaults to `on_local_engine()`. Messages name the rule, never
    the user part of a URL (it may hold a password).
    """
    if local is None:
        local = on_local_engine()
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    if _FORBIDDEN_CHARACTERS.search(url):
        raise ValueError("must not hold spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ValueError("is not a valid URL") from None
    _check_shape(url, parts)
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme == "http":
        if local and is_loopback_host(host):
            return url.rstrip("/")
        raise ValueError(
            "must be an https URL (plain http is allowed only to loopback on the local engine)"
        )
    if parts.scheme != "https":
        raise ValueError("must be an https URL")
    if not local:
        problem = host_problem(host)
        if problem:
            raise ValueError(f"must name a public host, not {problem}")
    return url.rstrip("/")


def _check_shape(url: str, parts: SplitResult) -> None:
    """No user info, query or fragment, and a host."""
    if "@" in parts.netloc:
        raise ValueError("must not carry a user name or password (user:password@host)")
    if "?" in url:
        raise ValueError("must not carry a query (?...): the platform sets its own parameters")
    if "#" in url:
        raise ValueError("must not carry a fragment (#...)")
    if not parts.hostname:
        raise ValueError("must name a host")


def host_problem(host: str) -> str | None:
    """What makes `host` unfit for credentials on AWS ("a private address", ...), or None."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return "a loopback host"
    address = _literal_address(name)
    if address is None:
        return None
    if isinstance(address, str):
        return address
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if address in METADATA_ADDRESSES:
        return "the instance metadata address"
    for test, what in (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_private, "a private address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "an address that is not public"),
    ):
        if test:
            return what
    return None


def _literal_address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | str | None:
    """The IP address `name` spells, None for a host name, or a reason it is neither.

    A resolver reads "2852039166", "0xa9fea9fe" or "169.254.43518" as IPv4
    addresses: a name whose last label is a number must be a plain dotted quad.
    """
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    last = name.rsplit(".", 1)[-1]
    if _NUMERIC_LABEL.fullmatch(last):
        return "a numeric host that is not a plain dotted IPv4 address"
    return None
