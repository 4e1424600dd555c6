"""A small threaded HTTP server on 127.0.0.1 that the fake platform APIs build on.

The stdlib `ThreadingHTTPServer` is enough here: one thread per connection, keep-alive
(HTTP/1.1), and a `handle(request) -> response` method for the fakes to implement.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit

T = TypeVar("T")

JSON = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """One HTTP request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()


@dataclass
class Response:
    """What the fake answers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: object, headers: Mapping[str, str] | None = None) -> Self:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(payload, ensure_ascii=False).encode(), merged)


class SlidingWindow:
    """At most `limit` units in any `period` seconds; not thread-safe (callers hold a lock)."""

    def __init__(self, limit: int, period: float = 1.0) -> None:
        self.limit = limit
        self.period = period
        self._entries: collections.deque[tuple[float, int]] = collections.deque()
        self._used = 0

    def wait_time(self, weight: int = 1, now: float | None = None) -> float | None:
        """None when `weight` units fit now, else the seconds until they would."""
        now = time.monotonic() if now is None else now
        while self._entries and self._entries[0][0] <= now - self.period:
            self._used -= self._entries.popleft()[1]
        # A single request heavier than the whole limit still passes on an empty window,
        # otherwise it could never be sent at all.
        if self._used + weight <= self.limit or not self._entries:
            return None
        needed, freed = self._used + weight - self.limit, 0
        for stamp, used in self._entries:
            freed += used
            if freed >= needed:
                return max(stamp + self.period - now, 0.0)
        return self.period

    def take(self, weight: int = 1, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._entries.append((now, weight))
        self._used += weight

    def try_acquire(self, weight: int = 1) -> float | None:
        """Take `weight` units and return None, or return the seconds until they would fit."""
        wait = self.wait_time(weight)
        if wait is None:
            self.take(weight)
        return wait


class _ServerWithConnections(ThreadingHTTPServer):
    """Tracks open connections so that stop() really cuts keep-alive clients off."""

    daemon_threads = True
    request_queue_size = 1024  # bursts of concurrent clients must not meet a backlog of 5

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections end on their own
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    fake: FakeHttpServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: the fakes record calls instead of logging them."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=self.headers,
            body=self._read_body(),
        )
        try:
            if request.path.startswith("/_fake/"):
                response = self.fake.control(request)
            else:
                response = self.fake.handle(request)
        except Exception:  # a bug in the fake must show up in the client, not vanish
            trace = traceback.format_exc()
            sys.stderr.write(trace)
            response = Response.json(500, {"message": f"fake server error: {trace}"})
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


class FakeHttpServer:
    """Base of the fakes: a real HTTP server on 127.0.0.1 with a thread-safe call record.

    Subclasses implement `handle`. Use as a context manager, or `start()` / `stop()`.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._server: _ServerWithConnections | None = None
        self._thread: threading.Thread | None = None

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def snapshot(self) -> JSON:
        """What the fake recorded, as JSON (for a fake running as a separate process)."""
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def control(self, request: Request) -> Response:
        """`GET /_fake/calls` and `POST /_fake/reset`: inspect a fake in another process."""
        if request.method == "GET" and request.path == "/_fake/calls":
            with self.lock:
                return Response.json(200, self.snapshot())
        if request.method == "POST" and request.path == "/_fake/reset":
            self.reset()
            return Response.json(200, {"ok": True})
        return Response.json(404, {"message": "unknown control endpoint"})

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _ServerWithConnections((self.host, self.port), handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.cut_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def notify(self) -> None:
        """Wake wait_for(); call with the lock held after recording something."""
        self.changed.notify_all()

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until predicate() is truthy and return its value; re-checked on every call.

        The predicate runs without the fake's lock, so it may use the helpers (or even the
        fake over HTTP). Raises TimeoutError after `timeout` seconds: no test waits forever.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            with self.changed:
                self.changed.wait(min(remaining, 0.05))


def run_cli(
    description: str,
    factory: Callable[[argparse.Namespace], FakeHttpServer],
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None,
    argv: list[str] | None = None,
) -> None:
    """`python -m tests.fakes.X --port N`: print the URL, serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    add_arguments(parser)
    options = parser.parse_args(argv)
    fake = factory(options)
    fake.host, fake.port = options.host, options.port
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with fake:
        print(fake.url, flush=True)
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
