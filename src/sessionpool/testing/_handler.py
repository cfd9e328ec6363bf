"""The wire side of the test server: one thread per connection, reading, recording, answering or breaking.

:class:`~sessionpool.testing.LocalServer` is the public face; the paths it
answers and the faults it injects are described there.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict

from sessionpool.testing._faults import Faults

__all__ = ["RecordedRequest", "Server"]

_MAX_SLEEP = 10.0

#: The statuses whose response has no body, whatever its Content-Length says.
_NO_BODY = frozenset({204, 304})

#: Headers as the server sends them: a mapping, or pairs when a name repeats (``Set-Cookie``).
_Headers = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str  # as sent: with the query, and absolute when sent to a proxy
    headers: Mapping[str, str]  # case-insensitive
    body: bytes  # as received, a chunked one joined
    connection: int  # the number of the connection it came on, from 1
    client: str  # the address the connection came from
    answered: bool  # False: a fault broke the connection instead, or the server is silent
    received: float  # time.monotonic() when the whole request had arrived

    @property
    def body_size(self) -> int:
        """The length of the body received."""
        return len(self.body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep connections alive between requests
    wbufsize = 64 * 1024  # one send per response; flushed after each request
    timeout = 30.0  # an idle client connection is dropped after this long
    server: Server

    def setup(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.timeout)
        if self.server.tls is not None:
            # Handshake after registering, so that stop() can interrupt a stalled one.
            sock = self.request = self.server.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        self.connection_number = self.server.connection_opened(sock)
        self.responses_sent = 0
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock.do_handshake()
            super().setup()
        except BaseException:
            self.server.connection_ended(sock)
            sock.close()
            raise

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connection_ended(self.request)
            # A TLS socket replaced the one the server accepted, so it is closed here.
            self.request.close()

    def handle(self) -> None:
        self.close_connection = False
        while not self.close_connection:
            faults = self.server.faults
            if faults is not None and faults.on == "idle" and self._quiet_for(faults):
                self._break(faults)
                return
            self.handle_one_request()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (OSError, ValueError):  # the client went away, or sent a body that is not HTTP
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the server's clients are measured, not debugged."""

    def _quiet_for(self, faults: Faults) -> bool:
        """Whether an idle fault is due: ``after`` responses sent, then ``idle_delay`` seconds with no request."""
        if self.responses_sent < faults.after:
            return False
        if faults.idle_delay <= 0:
            return True
        self.connection.settimeout(faults.idle_delay)
        try:
            self.rfile.peek(1)  # type: ignore[attr-defined]  # a BufferedReader (rbufsize -1)
        except TimeoutError:
            return True
        finally:
            self.connection.settimeout(self.timeout)
        return False

    def _break(self, faults: Faults) -> None:
        """Close (FIN) or reset (RST) the connection once this request ends; the whole request was read."""
        if faults.how == "rst":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.server.connection_broken()

    def _read_body(self) -> bytes:
        """Read the request's body, plain or chunked, all of it: then closing the connection sends a FIN."""
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        chunks = []
        while size := int(self.rfile.readline(65537).split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline(65537)
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):  # the trailer
            pass
        return b"".join(chunks)

    def _answer(self) -> None:
        body = self._read_body()
        received = time.monotonic()
        faults, silent = self.server.faults, self.server.silent
        broken = faults is not None and faults.on == "request" and self.responses_sent >= faults.after
        headers = CaseInsensitiveDict(self.headers.items())
        answered = not (broken or silent)
        client = str(self.client_address[0])
        self.server.record(
            RecordedRequest(self.command, self.path, headers, body, self.connection_number, client, answered, received)
        )
        if silent:
            self._hold()
        elif broken and faults is not None:
            self._break(faults)
        else:
            self._respond(len(body))

    def _hold(self) -> None:
        """Answer nothing: wait until the client closes, the server stops, or the idle timeout ends it."""
        with contextlib.suppress(OSError):
            while self.connection.recv(65536):
                pass
        self.close_connection = True

    def _respond(self, body_size: int) -> None:
        self.responses_sent += 1
        self.server.in_flight(+1)
        try:
            status, body, headers = self._route(body_size)
        finally:
            self.server.in_flight(-1)  # before answering: the client's next request may come at once
        self.send_response(status)
        for name, value in headers.items() if isinstance(headers, Mapping) else headers:
            self.send_header(name, value)
        if self.close_connection:  # the client asked for it: say so, as HTTP/1.1 requires
            self.send_header("Connection", "close")
        if status in _NO_BODY:
            body = b""
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self, body_size: int) -> tuple[int, bytes, _Headers]:
        # A request sent to the server as a proxy is routed by the path of its absolute URL.
        path = self.path.split("?", 1)[0] if self.path.startswith("/") else urlsplit(self.path).path
        text, as_json = {"Content-Type": "text/plain"}, {"Content-Type": "application/json"}
        scripted = self.server.next_status(path)
        if scripted is not None:
            if scripted in (429, 503):
                return scripted, b"ok", {**text, "Retry-After": self.server.retry_after}
            return scripted, b"ok", text
        if path in self.server.bodies:
            return 200, self.server.bodies[path], {"Content-Type": "application/octet-stream"}
        if path == "/_counters":
            return 200, json.dumps(self.server.counters()).encode(), as_json
        if path == "/echo":
            echo = {"method": self.command, "path": self.path, "headers": dict(self.headers.items())}
            return 200, json.dumps({**echo, "body_size": body_size}).encode(), as_json
        if path == "/respond":
            return self._respond_as_asked()
        if path.startswith("/sleep/"):
            self.server.stopping.wait(min(float(path[len("/sleep/") :]), _MAX_SLEEP))
        elif path.startswith("/status/"):
            return int(path[len("/status/") :]), b"", text
        elif path.startswith("/redirect/"):
            hops = int(path[len("/redirect/") :])
            return 302, b"", {**text, "Location": f"/redirect/{hops - 1}" if hops > 1 else "/"}
        return 200, b"ok", text

    def _respond_as_asked(self) -> tuple[int, bytes, _Headers]:
        """The response the query of ``/respond`` describes: ``status``, ``header`` (``Name: value``), ``body``."""
        status, body, headers = 200, b"ok", [("Content-Type", "text/plain")]
        for key, value in parse_qsl(urlsplit(self.path).query, keep_blank_values=True):
            if key == "status":
                status = int(value)
            elif key == "header":
                # Sent as UTF-8, as servers send a non-ASCII Location (http.server writes latin-1).
                name, _, content = value.partition(":")
                headers.append((name.strip(), content.strip().encode().decode("latin-1")))
            elif key == "body":
                body = value.encode()
        if any(name.lower() == "content-type" for name, _ in headers[1:]):
            del headers[0]
        return status, body, headers

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _answer


class Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops the SYNs of a burst of new
    # connections, which the client then resends only after a second.
    request_queue_size = 128
    daemon_threads = False
    block_on_close = True  # server_close() joins every connection's thread

    def __init__(
        self,
        address: tuple[str, int],
        *,
        tls: ssl.SSLContext | None,
        faults: Faults | None,
        silent: bool,
        statuses: Mapping[str, Sequence[int]],
        retry_after: str,
        bodies: Mapping[str, bytes],
    ) -> None:
        super().__init__(address, _Handler, bind_and_activate=False)
        try:
            self.server_bind()  # connections are refused until server_activate() listens
        except BaseException:
            self.server_close()
            raise
        self.tls = tls
        self.faults = faults  # read by each connection before each wait and request: may change while serving
        self.silent = silent
        self.statuses = {path: list(codes) for path, codes in statuses.items()}  # popped under the lock
        self.retry_after = retry_after
        self.bodies = dict(bodies)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.connections_accepted = 0
        self.connections_broken = 0
        self.answering = self.answering_peak = 0
        self.open_connections: set[socket.socket] = set()
        self.requests: list[RecordedRequest] = []

    def server_bind(self) -> None:
        """Bind, naming the server by its address (http.server's getfqdn() may wait for DNS)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def connection_opened(self, sock: socket.socket) -> int:
        with self.lock:
            self.connections_accepted += 1
            self.open_connections.add(sock)
            number = self.connections_accepted
        if self.stopping.is_set():  # accepted as stop() began: it may have missed this one
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return number

    def connection_ended(self, sock: socket.socket) -> None:
        with self.lock:
            self.open_connections.discard(sock)

    def connection_broken(self) -> None:
        with self.lock:
            self.connections_broken += 1

    def in_flight(self, change: int) -> None:
        with self.lock:
            self.answering += change
            self.answering_peak = max(self.answering_peak, self.answering)

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def next_status(self, path: str) -> int | None:
        with self.lock:
            script = self.statuses.get(path)
            return script.pop(0) if script else None

    def counters(self) -> dict[str, int]:
        with self.lock:
            return {
                "connections_accepted": self.connections_accepted,
                "requests": len(self.requests),
                "connections_broken": self.connections_broken,
            }

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing of clients that went away or failed the TLS handshake."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)
