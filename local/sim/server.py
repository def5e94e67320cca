"""Run a WSGI app as a real HTTP server on loopback, in a background thread.

Tests and the demo talk to the simulators over real sockets, so every client
behaviour (timeouts, dropped connections, headers) is exercised for real.
The server binds an ephemeral port by default so parallel runs never collide,
and `stop()` wakes any request the fault injector is holding back, joins every
handler thread and closes the listening socket.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

HANDLER_IDLE_TIMEOUT_S = 5.0
"""A connection that sends no request line within this time is closed."""

STOP_EVENT_KEY = "sim.stop_event"
"""WSGI environ key holding the server's stop event (set when the server stops)."""


@contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """While open, Ctrl-C does nothing (only the main thread can change that; others just run)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not print an access line per request."""

    timeout = HANDLER_IDLE_TIMEOUT_S

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silence werkzeug's access log; the simulators keep their own request log."""


class _AccessLogHandler(WSGIRequestHandler):
    """Request handler that prints werkzeug's usual access line (foreground use)."""

    timeout = HANDLER_IDLE_TIMEOUT_S


class SimServer:
    """A threaded werkzeug server for one WSGI app on `host:port` (port 0 = ephemeral).

    Use as a context manager, or call `start()` / `stop()`. Each request's
    environ carries the server's stop event under `STOP_EVENT_KEY`; code that
    holds a request back waits on it, so stopping never waits for a simulated
    slow response.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_log: bool = False,
    ) -> None:
        self.app = app
        self.host = host
        self.stop_event = threading.Event()
        handler = _AccessLogHandler if access_log else _QuietHandler
        self._server: BaseWSGIServer = make_server(
            host, port, self._serve, threaded=True, request_handler=handler
        )
        # Join handler threads on close: every connection is closed after one
        # response (werkzeug sends "Connection: close"), so joins are short.
        self._server.daemon_threads = False  # type: ignore[attr-defined]
        self._server.block_on_close = True  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._stopped = False

    def _serve(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ[STOP_EVENT_KEY] = self.stop_event
        return self.app(environ, start_response)

    @property
    def port(self) -> int:
        """The port the server listens on (the ephemeral one when 0 was asked)."""
        return int(self._server.port)

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True between `start()` and `stop()`."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SimServer:
        """Serve in a daemon thread; returns self. The socket is already listening."""
        if self._stopped:
            raise RuntimeError("a stopped SimServer cannot be restarted; create a new one")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.01},
                name=f"sim-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake held requests, join handler threads, close the socket."""
        if self._stopped:
            return
        self._stopped = True
        self.stop_event.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        # serve_forever closes the server on exit; closing twice is harmless and
        # covers a server that was never started.
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C), then stop cleanly, however busy the server is.

        The server runs in its thread while this one waits, so the interrupt
        lands here and never inside a handler or a join; stopping wakes every
        request held back (latency, a stalled response) first, and a second
        Ctrl-C while the handlers finish is ignored rather than cutting the
        joins short with a traceback.
        """
        self.start()
        thread = self._thread
        try:
            while thread is not None and thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            with _interrupts_ignored():
                self.stop()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
