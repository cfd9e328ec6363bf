"""A small keep-alive HTTP/1.1 server on 127.0.0.1, for the demo and the tests.

It runs in background threads of the calling process, answers on an
ephemeral port, and counts what a client's connection reuse is judged by:
the TCP connections it accepted and the requests it received on each.

Paths it answers:

- ``/echo``: a JSON object with the request's method, path, headers and body size;
- ``/sleep/<seconds>``: answers after that many seconds (at most 10);
- ``/status/<code>``: an empty response with that status;
- ``/redirect/<n>``: a 302 to ``/redirect/<n - 1>``, and to ``/`` from 1;
- ``/_counters``: a JSON object with the connections accepted, the requests
  received (this request and its connection included) and the connections
  closed on reuse so far, for a client in another process;
- anything else (and any method): ``200 ok``, two bytes.

Requests sent to it as a proxy (``GET http://host/path``) are answered and
recorded with the absolute URL as their path.

With ``close_on_reuse`` (``python -m sessionpool.testing --close-on-reuse``)
it serves one response per connection and closes every connection just as it
is reused: it reads the next request in full, records it as not answered, and
closes the connection without a byte of response. The client sees its reused
keep-alive connection die under the request (``RemoteDisconnected``), the race
a server with a short idle timeout causes when it closes a connection the
client is already sending on. Here the request is never handled; a client
cannot know that in general, which is why only requests safe to send twice
may be replayed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["LocalServer", "RecordedRequest"]

_MAX_SLEEP = 10.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    connection: int  # the number of the connection it came on, from 1
    answered: bool = True  # False: the server closed the connection instead (close_on_reuse)
    client: str = ""  # the address the connection came from


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep connections alive between requests
    wbufsize = 64 * 1024  # one send per response; flushed after each request
    timeout = 30.0  # an idle client connection is dropped after this long
    server: _Server

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.server.tls is not None:
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        self.connection_number = self.server.connection_accepted(self.request)
        self.responses_sent = 0
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connection_ended(self.request)
            # The TLS socket replaced the one the server accepted (and will
            # close), so it must be closed here.
            self.request.close()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the server's clients are measured, not debugged."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body_size = len(self.rfile.read(length)) if length else 0
        # The whole request has been read, so closing sends a FIN, not a reset.
        drop = self.server.close_on_reuse and self.responses_sent > 0
        self.server.record(
            RecordedRequest(
                self.command,
                self.path,
                dict(self.headers.items()),
                self.connection_number,
                answered=not drop,
                client=str(self.client_address[0]),
            )
        )
        if drop:
            self.close_connection = True  # handle() stops, and the connection is closed unanswered
            return
        self.responses_sent += 1
        self._location = ""
        status, body, content_type = self._route(body_size)
        self.send_response(status)
        if self._location:
            self.send_header("Location", self._location)
        if self.close_connection:  # the client asked for it: say so, as HTTP/1.1 requires
            self.send_header("Connection", "close")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self, body_size: int) -> tuple[int, bytes, str]:
        path = self.path.split("?", 1)[0]
        if path == "/_counters":
            with self.server.lock:
                counters = {
                    "connections_accepted": self.server.connections_accepted,
                    "requests": len(self.server.requests),
                    "closed_on_reuse": self.server.closed_on_reuse,
                }
            return 200, json.dumps(counters).encode(), "application/json"
        if path == "/echo":
            echo = {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body_size": body_size,
            }
            return 200, json.dumps(echo).encode(), "application/json"
        if path.startswith("/sleep/"):
            time.sleep(min(float(path[len("/sleep/") :]), _MAX_SLEEP))
        elif path.startswith("/status/"):
            return int(path[len("/status/") :]), b"", "text/plain"
        elif path.startswith("/redirect/"):
            hops = int(path[len("/redirect/") :])
            self._location = f"/redirect/{hops - 1}" if hops > 1 else "/"
            return 302, b"", "text/plain"
        return 200, b"ok", "text/plain"

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops the SYNs of a burst of new
    # connections, which the client then resends only after a second.
    request_queue_size = 128
    daemon_threads = False
    block_on_close = True  # server_close() joins every connection's thread

    def __init__(self, tls: ssl.SSLContext | None, close_on_reuse: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls = tls
        self.close_on_reuse = close_on_reuse
        self.lock = threading.Lock()
        self.connections_accepted = 0
        self.closed_on_reuse = 0
        self.open_connections: set[socket.socket] = set()
        self.requests: list[RecordedRequest] = []

    def connection_accepted(self, sock: socket.socket) -> int:
        with self.lock:
            self.connections_accepted += 1
            self.open_connections.add(sock)
            return self.connections_accepted

    def connection_ended(self, sock: socket.socket) -> None:
        with self.lock:
            self.open_connections.discard(sock)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing of clients that went away or failed the TLS handshake."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)
            if not request.answered:
                self.closed_on_reuse += 1


class LocalServer:
    """The server, started by :meth:`start` (or ``with``) and stopped by :meth:`stop`.

    :param tls: a server-side TLS context to serve HTTPS instead of HTTP.
    :param close_on_reuse: serve one response per connection, and close each
        connection unanswered when the next request arrives on it (see the
        module's docstring).
    """

    def __init__(self, *, tls: ssl.SSLContext | None = None, close_on_reuse: bool = False) -> None:
        self._server = _Server(tls, close_on_reuse)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sessionpool-localserver", daemon=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since the start."""
        with self._server.lock:
            return self._server.connections_accepted

    @property
    def closed_on_reuse(self) -> int:
        """Connections closed unanswered as they were reused (``close_on_reuse`` only)."""
        with self._server.lock:
            return self._server.closed_on_reuse

    @property
    def open_connections(self) -> int:
        """Client connections open now."""
        with self._server.lock:
            return len(self._server.open_connections)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the start, in order."""
        with self._server.lock:
            return list(self._server.requests)

    def start(self) -> Self:
        """Start answering in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, drop every open connection, and wait for all threads to end."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        with self._server.lock:
            open_connections = list(self._server.open_connections)
        for sock in open_connections:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_until_stdin_closes(*, close_on_reuse: bool = False) -> None:
    """Serve HTTP on an ephemeral port, print its URL, and stop when standard input closes.

    Run as ``python -m sessionpool.testing`` by a parent that wants the
    server out of its own process (and interpreter lock); closing the pipe
    to the child's standard input stops it, also when the parent dies.
    """
    with LocalServer(close_on_reuse=close_on_reuse) as server:
        print(server.url, flush=True)
        sys.stdin.read()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sessionpool.testing [--close-on-reuse]``."""
    parser = argparse.ArgumentParser(
        prog="python -m sessionpool.testing",
        description="Serve HTTP on 127.0.0.1, print the URL, and stop when standard input closes.",
    )
    parser.add_argument(
        "--close-on-reuse",
        action="store_true",
        help="close every keep-alive connection, unanswered, when a second request arrives on it",
    )
    args = parser.parse_args(argv)
    serve_until_stdin_closes(close_on_reuse=args.close_on_reuse)


if __name__ == "__main__":
    main()
