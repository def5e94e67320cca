"""A small language client for the tests: JSON-RPC over a server process's stdin and stdout.

Written apart from pygls on purpose: the tests speak the protocol as any
editor does (Content-Length framing, requests with ids, notifications), so a
server that only works with pygls's own client would fail them.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

TIMEOUT = 60.0


class ServerError(Exception):
    """The server answered a request with an error."""


class LspClient:
    """One server process and the messages it sent."""

    def __init__(self, command: Sequence[str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._ids = 0
        self._lock = threading.Lock()
        self._answers: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        self.stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()

    # --- the wire -----------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                header = stream.readline()
                if not header:
                    return
                if header in (b"\r\n", b"\n"):
                    break
                name, _, value = header.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            assert length is not None, "a message without Content-Length"
            message = json.loads(stream.read(length).decode("utf-8"))
            if "id" in message and "method" not in message:
                self._answers.setdefault(message["id"], queue.Queue()).put(message)
            elif "id" in message:  # a request from the server (e.g. registering a capability)
                self._send({"id": message["id"], "result": None})
            else:
                with self._arrived:
                    self.notifications.append(message)
                    self._arrived.notify_all()

    def _drain(self, stream: IO[bytes] | None) -> None:
        assert stream is not None
        for line in stream:
            self.stderr.append(line)

    # --- requests and notifications ------------------------------------------------

    def request(self, method: str, params: Any, timeout: float = TIMEOUT) -> Any:
        """Send a request and wait for its answer's result."""
        with self._lock:
            self._ids += 1
            ident = self._ids
            box = self._answers.setdefault(ident, queue.Queue())
        self._send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = box.get(timeout=0.2)
                break
            except queue.Empty:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"no answer to {method}; {self.log()}") from None
        if "error" in answer:
            raise ServerError(answer["error"])
        return answer.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def wait_for(
        self, method: str, matches: Callable[[Any], bool], timeout: float = TIMEOUT
    ) -> Any:
        """The params of the first notification of `method` that `matches`, from now on.

        Notifications already received are searched too, newest last; each is
        returned once at most (it is then removed).
        """
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for index, message in enumerate(self.notifications):
                    if message.get("method") == method and matches(message.get("params")):
                        del self.notifications[index]
                        return message["params"]
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"no {method}; {self.log()}")
                self._arrived.wait(min(left, 0.2))

    def diagnostics(self, uri: str, version: int | None = None) -> list[dict[str, Any]]:
        """The next diagnostics published for `uri` (for that document version, when given)."""
        params = self.wait_for(
            "textDocument/publishDiagnostics",
            lambda p: p["uri"] == uri and (version is None or p.get("version") == version),
        )
        return list(params["diagnostics"])

    def forget(self, method: str) -> None:
        """Drop the notifications of `method` received so far."""
        with self._arrived:
            self.notifications = [m for m in self.notifications if m.get("method") != method]

    def log(self) -> str:
        return "server stderr: " + b"".join(self.stderr).decode("utf-8", "replace")[-3000:]

    # --- a session ------------------------------------------------------------------

    def initialize(self, root: Path) -> dict[str, Any]:
        result = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "capabilities": {
                    "textDocument": {
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "publishDiagnostics": {"versionSupport": True},
                    },
                    "general": {"positionEncodings": ["utf-16"]},
                },
            },
        )
        self.notify("initialized", {})
        return dict(result)

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "siesa-map",
                    "version": version,
                    "text": text,
                }
            },
        )

    def change(self, uri: str, text: str, version: int) -> None:
        """Replace the whole text (an editor may send a whole document under incremental sync)."""
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )

    def close(self) -> None:
        """Shut the server down as an editor does; kill it if it does not exit."""
        try:
            if self.process.poll() is None:
                self.request("shutdown", None, timeout=20)
                self.notify("exit", None)
                self.process.wait(timeout=20)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=20)
