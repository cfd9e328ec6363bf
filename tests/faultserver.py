"""A keep-alive HTTP/1.1 socket server that breaks connections on a script, for the replay tests.

After a connection has served ``Fault.after`` responses, the server breaks
it, either when the next request arrives (it reads that request, counts it,
and answers nothing: the client sees its reused connection die under the
request) or after the connection has been idle for ``Fault.idle`` seconds.
It breaks a connection by closing it (FIN) or resetting it (RST, through
``SO_LINGER`` 0); over TLS, a close comes without a TLS close_notify, as
when a server drops an idle connection.

Every request received is recorded (method, path, body size, connection,
and whether it was answered), so a test can prove what was sent twice and
what was never sent again. ``statuses`` scripts responses per path: each
request to that path takes the next status from its list, then 200; a 429
or 503 carries ``Retry-After: <retry_after>``.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal


@dataclass(frozen=True)
class Fault:
    """How the server breaks each connection."""

    after: int = 1  # responses a connection serves before it is broken
    when: Literal["next_request", "idle"] = "next_request"
    action: Literal["close", "reset"] = "close"
    idle: float = 0.0  # for when="idle": seconds of quiet before breaking


@dataclass
class Received:
    """One request as the server received it."""

    method: str
    path: str
    body_size: int
    connection: int
    answered: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class FaultServer:
    """The server; use it as a context manager (it stops all its threads and sockets)."""

    def __init__(
        self,
        fault: Fault | None = None,
        statuses: dict[str, list[int]] | None = None,
        retry_after: str = "0",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.fault = fault
        self.tls = tls
        self.retry_after = retry_after
        self._statuses = {path: list(codes) for path, codes in (statuses or {}).items()}
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="fault-server", daemon=True)

    # -- what a test reads --------------------------------------------------

    @property
    def received(self) -> list[Received]:
        """Every request received, in order."""
        with self._lock:
            return list(self._received)

    def count(self, method: str, path: str) -> int:
        """How many times a request for ``method path`` arrived (answered or not)."""
        return sum(1 for r in self.received if r.method == method and r.path == path)

    def by_method_and_path(self) -> Counter[tuple[str, str]]:
        """Requests received, counted by (method, path)."""
        return Counter((r.method, r.path) for r in self.received)

    @property
    def connections_accepted(self) -> int:
        """Connections accepted since the start."""
        with self._lock:
            return len(self._connections)

    # -- lifecycle ----------------------------------------------------------

    def __enter__(self) -> FaultServer:
        self._acceptor.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        self._listener.close()
        self._acceptor.join(5)
        with self._lock:
            connections, threads = list(self._connections), list(self._threads)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(5)
        for conn in connections:
            conn.close()

    # -- the server ---------------------------------------------------------

    def _accept(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.append(conn)
                number = len(self._connections)
                thread = threading.Thread(target=self._serve, args=(conn, number), daemon=True)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:
                return
            with self._lock:
                self._connections[number - 1] = conn
        reader = conn.makefile("rb")
        served = 0
        try:
            while not self._stopping.is_set():
                broken = self.fault is not None and served >= self.fault.after
                if broken and self.fault is not None and self.fault.when == "idle":
                    conn.settimeout(self.fault.idle)
                    try:
                        ready = reader.peek(1)
                    except TimeoutError:
                        self._break(conn)
                        return
                    conn.settimeout(None)
                    if not ready:
                        return
                    broken = False  # the client spoke first: serve it
                request = _read_request(reader, number)
                if request is None:
                    return
                with self._lock:
                    self._received.append(request)
                if broken:
                    self._break(conn)
                    return
                status = self._next_status(request.path)
                headers = f"Retry-After: {self.retry_after}\r\n" if status in (429, 503) else ""
                conn.sendall(
                    f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n{headers}\r\nok".encode()
                )
                request.answered = True
                served += 1
        except OSError:
            return  # the client went away, or the server is stopping
        finally:
            reader.close()

    def _next_status(self, path: str) -> int:
        with self._lock:
            script = self._statuses.get(path.split("?", 1)[0])
            return script.pop(0) if script else 200

    def _break(self, conn: socket.socket) -> None:
        assert self.fault is not None
        if self.fault.action == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        else:
            conn.shutdown(socket.SHUT_RDWR)


def _read_request(reader: object, connection: int) -> Received | None:
    """Read one request (head and body, plain or chunked); None when the client closed."""
    readline = reader.readline  # type: ignore[attr-defined]
    read = reader.read  # type: ignore[attr-defined]
    line = readline(65537)
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        header = readline(65537)
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    size = 0
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            chunk = int(readline(65537).split(b";")[0], 16)
            if chunk == 0:
                readline(65537)
                break
            size += len(read(chunk))
            readline(65537)
    elif "content-length" in headers:
        size = len(read(int(headers["content-length"])))
    return Received(method, path, size, connection, headers=headers)
