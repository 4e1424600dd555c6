"""A server that takes requests and never answers them: the client cannot know whether the
platform got its request (the case Telegram's `in_doubt` and LINE's retry key exist for).

`hang_up=True` closes each connection once the request is read (the client sees the
connection drop); `hang_up=False` keeps it open, silent, until the server stops (the client
times out).
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Self


class UnansweringServer:
    def __init__(self, *, hang_up: bool = True) -> None:
        self.hang_up = hang_up
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.requests: list[str] = []  # the path of each request read
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self._held:
            connection.close()
        self.listener.close()

    def requests_to(self, path_suffix: str) -> int:
        return sum(path.endswith(path_suffix) for path in self.requests)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(2)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65_536:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    head += chunk
            except OSError:  # the client gave up first
                pass
            if head:
                self.requests.append(head.split(b" ", 2)[1].decode())
            if self.hang_up:
                connection.close()
            else:
                self._held.append(connection)
