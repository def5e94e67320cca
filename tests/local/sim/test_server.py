"""SimServer: a real loopback server that starts quickly and stops without leaking threads or sockets."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from local.sim import SimServer
from local.sim.server import STOP_EVENT_KEY


def _hello(environ: dict, start_response) -> list[bytes]:  # type: ignore[no-untyped-def]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def test_serves_on_an_ephemeral_loopback_port_and_stops_cleanly() -> None:
    before = _threads()
    with SimServer(_hello) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        assert server.running
        assert httpx.get(server.url).text == "hello"
    assert not server.running
    assert _threads() == before
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
        pass


def test_two_servers_get_different_ports() -> None:
    with SimServer(_hello) as one, SimServer(_hello) as two:
        assert one.port != two.port
        assert httpx.get(one.url).text == httpx.get(two.url).text == "hello"


def test_stop_is_idempotent_and_a_stopped_server_cannot_restart() -> None:
    server = SimServer(_hello).start()
    server.stop()
    server.stop()
    with pytest.raises(RuntimeError, match="cannot be restarted"):
        server.start()


def test_a_server_never_started_releases_its_socket() -> None:
    server = SimServer(_hello)
    port = server.port
    server.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_stop_wakes_a_request_held_on_the_stop_event() -> None:
    entered = threading.Event()

    def slow(environ: dict, start_response) -> list[bytes]:  # type: ignore[no-untyped-def]
        entered.set()
        environ[STOP_EVENT_KEY].wait(60)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    before = _threads()
    server = SimServer(slow).start()
    caller = threading.Thread(target=lambda: httpx.get(server.url, timeout=30), daemon=True)
    caller.start()
    assert entered.wait(5)
    server.stop()  # returns only once the held handler thread has finished
    caller.join(5)
    assert not caller.is_alive()
    assert _threads() == before
