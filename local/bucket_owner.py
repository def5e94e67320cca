"""S3's bucket-owner check on the embedded AWS: `ExpectedBucketOwner` refused as S3 refuses it.

On AWS, a request carrying `x-amz-expected-bucket-owner` for a bucket another
account owns is answered 403 Access Denied; that is how `siesa deploy`
refuses to upload into a bucket someone else created under its predictable
name. moto 5.2.5 ignores the header (and lets any account reach any bucket),
so the embedded AWS adds the check in front of moto's application: one WSGI
wrapper that compares the header with the owner moto recorded for the bucket
(`s3_backends.bucket_accounts`). Requests without the header, and buckets
moto does not know, pass through untouched.

The server is moto's `ThreadedMotoServer` with its one start-up method
rebuilt around the wrapped application; tests/local/test_bucket_owner.py
fails if a moto upgrade changes that seam.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.s3.models import s3_backends
from werkzeug.serving import make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_HEADER = "HTTP_X_AMZ_EXPECTED_BUCKET_OWNER"
_S3_SCOPE = "/s3/aws4_request"
_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
)


def bucket_of(environ: dict[str, Any]) -> str | None:
    """The bucket a path-style S3 request names (what boto3 sends to a loopback endpoint)."""
    if _S3_SCOPE not in environ.get("HTTP_AUTHORIZATION", ""):
        return None
    first = str(environ.get("PATH_INFO", "")).lstrip("/").split("/", 1)[0]
    return first or None


def refused(environ: dict[str, Any]) -> bool:
    """True when the request names an expected owner that is not the bucket's owner."""
    expected = environ.get(_HEADER)
    bucket = bucket_of(environ) if expected else None
    if bucket is None:
        return False
    owner = s3_backends.bucket_accounts.get(bucket)
    return owner is not None and owner[1] != expected


def checking_bucket_owner(app: WsgiApp) -> WsgiApp:
    """`app` behind S3's ExpectedBucketOwner check."""

    def checked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not refused(environ):
            return app(environ, start_response)
        body = b"" if environ.get("REQUEST_METHOD") == "HEAD" else _DENIED
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return checked


class OwnerCheckingMotoServer(ThreadedMotoServer):
    """moto's threaded server whose application refuses a wrong ExpectedBucketOwner.

    `middleware`, when given, wraps the whole application (a request census, say).
    """

    def __init__(
        self, *args: Any, middleware: Callable[[WsgiApp], WsgiApp] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._middleware = middleware

    def _server_entry(self) -> None:
        app = checking_bucket_owner(DomainDispatcherApplication(create_backend_app))
        if self._middleware is not None:
            app = self._middleware(app)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()
