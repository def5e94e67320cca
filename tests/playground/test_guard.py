"""The server answers only its own page on this machine: each refusal, over a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playground_support import MAPPING, post_source, request, serving, write_mapping

from playground.server import MAX_BODY_BYTES, PlaygroundServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaygroundServer]:
    path = write_mapping(tmp_path_factory.mktemp("guard"))
    with serving(path) as running:
        yield running


@pytest.fixture
def port(server: PlaygroundServer) -> int:
    return server.server_port


def test_it_listens_on_loopback_only(server: PlaygroundServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.server_port}/"


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}"])
def test_its_own_host_names_are_answered(port: int, host: str) -> None:
    answer = request(port, "GET", "/api/state", headers={"Host": host.format(port=port)})
    assert answer.status == 200
    assert answer.body["source"] == MAPPING


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example:{port}",  # DNS rebinding: a site's name pointed at 127.0.0.1
        "attacker.example",
        "127.0.0.1:{other}",
        "127.0.0.1",
        "[::1]:{port}",
        "",
    ],
)
def test_another_host_is_refused_with_403(port: int, host: str) -> None:
    shown = host.format(port=port, other=port + 1)
    page = request(port, "GET", "/", headers={"Host": shown})
    assert page.status == 403
    assert page.body == {
        "error": f"this server answers only to Host 127.0.0.1:{port} or localhost:{port}"
    }
    ran = post_source(port, MAPPING, Host=shown)
    assert ran.status == 403


def test_two_host_headers_are_refused(port: int) -> None:
    connection_headers = {"Host": f"127.0.0.1:{port}"}
    answer = request(port, "GET", "/api/state", headers=connection_headers)
    assert answer.status == 200
    doubled = request(
        port,
        "GET",
        "/api/state",
        headers={"Host": f"127.0.0.1:{port}", "host": f"attacker.example:{port}"},
    )
    assert doubled.status == 403


@pytest.mark.parametrize(
    "origin",
    ["http://attacker.example", "http://localhost:{port}", "https://127.0.0.1:{port}", "null"],
)
def test_another_origin_is_refused_with_403(port: int, origin: str) -> None:
    answer = post_source(port, MAPPING, Origin=origin.format(port=port))
    assert answer.status == 403
    assert answer.body == {"error": "requests from another origin are refused"}
    page = request(
        port,
        "GET",
        "/api/state",
        headers={"Host": f"127.0.0.1:{port}", "Origin": origin.format(port=port)},
    )
    assert page.status == 403


def test_the_pages_own_origin_is_answered(port: int) -> None:
    answer = post_source(port, MAPPING, Origin=f"http://127.0.0.1:{port}")
    assert answer.status == 200
    assert answer.body["summary"] == "1 record(s) mapped, 1 rejected, 0 skipped", answer.body
    by_name = post_source(
        port, MAPPING, Host=f"localhost:{port}", Origin=f"http://localhost:{port}"
    )
    assert by_name.status == 200


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_post_that_is_not_json_is_refused_with_415(port: int, content_type: str | None) -> None:
    headers = {"Host": f"127.0.0.1:{port}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = json.dumps({"source": MAPPING}).encode("utf-8")
    answer = request(port, "POST", "/api/run", headers=headers, body=body)
    assert answer.status == 415
    assert answer.body == {"error": "send the request body as application/json"}


def test_json_with_a_charset_is_json(port: int) -> None:
    answer = post_source(port, MAPPING, **{"Content-Type": "application/json; charset=utf-8"})
    assert answer.status == 200


def test_a_body_too_large_is_refused_unread(port: int) -> None:
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Content-Type": "application/json",
        "Content-Length": str(MAX_BODY_BYTES + 1),
    }
    answer = request(port, "POST", "/api/run", headers=headers)
    assert answer.status == 413


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"source": 3}', b'{"text": "x"}'])
def test_a_body_without_source_text_is_400(port: int, body: bytes) -> None:
    headers = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json"}
    answer = request(port, "POST", "/api/run", headers=headers, body=body)
    assert answer.status == 400


def test_every_answer_forbids_loading_from_elsewhere_and_framing(port: int) -> None:
    page = request(port, "GET", "/", headers={"Host": f"127.0.0.1:{port}"})
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    refused = request(port, "GET", "/", headers={"Host": "attacker.example"})
    assert refused.headers["Content-Security-Policy"] == policy


def test_the_page_loads_nothing_from_another_machine() -> None:
    static = Path(__file__).resolve().parents[2] / "playground" / "static"
    for name in ("index.html", "page.js", "page.css"):
        text = static.joinpath(name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//" + "cdn" not in text, name
