"""The wire side of the hostile server: one connection read, answered by a route, and closed, within bounds.

:class:`~sessionpool.testing.HostileServer` is the public face, and
:mod:`~sessionpool.testing._hostile_routes` holds what each path answers;
this module is what every answer shares. A :class:`Connection` reads one
request (its head at most 64 KiB, else a 431; a body of a given
``Content-Length`` at most 16 MiB, read and discarded, else a 413), hands
its path and query to the server's routes, and closes, having first read
what the client still sends, so that no RST destroys the answer.

Every answer is bounded: it ends when its bytes are sent, when the client
goes away, when the server stops (which also cuts its pauses short and
shuts its socket down), or after 600 s; an endless one also after a million
chunks or header lines (:meth:`Connection.paced`), so that ``interval=0``
ends too. A client that goes away is no error: its connection's thread ends
without a word. A route that will not answer as asked raises
:class:`Refusal`, answered with its status and reason.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http import HTTPStatus

__all__ = ["BLOCK", "MAX_SECONDS", "MAX_STEPS", "Answer", "Connection", "Header", "Refusal", "State", "head"]

#: The most a request head may take; nginx's default large header buffers are 4 of 8 KiB, so 64 KiB is generous.
_MAX_HEAD = 64 * 1024
#: The largest request body read and discarded; a larger ``Content-Length`` is answered 413.
_MAX_REQUEST_BODY = 16 * 1024 * 1024
#: Seconds a client has to send its whole request.
_REQUEST_SECONDS = 10.0
#: Seconds one send may wait for a client that stopped reading but keeps the connection open.
_SEND_SECONDS = 30.0
#: The longest an answer lasts: a trickle at 1 byte per 0.5 s would take six days for its default MiB.
MAX_SECONDS = 600.0
#: The most chunks or header lines an endless answer sends, so that ``interval=0`` ends too.
MAX_STEPS = 1_000_000
#: After an answer the server reads what the client still sends, this long and this much at most, before
#: closing: closing a socket with unread input sends an RST, which may destroy the answer before it is read.
_LINGER_SECONDS = 1.0
_LINGER_BYTES = 1024 * 1024

#: Every body byte is cut from this block, written over and over: the server never holds a body of N bytes.
BLOCK = memoryview(b"x" * 65536)

#: A header as the server writes it: its name, and a value written as bytes, as text, or as a number.
Header = tuple[str, "bytes | str | int"]


class State:
    """What the accepting thread and every connection's thread share; changed under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.paths: list[str] = []
        self.sent: list[int] = []  # the body bytes written for each request, beside its path
        self.connections_accepted = 0
        self.open: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []

    def record(self, path: str) -> int:
        """Record a request's target; return its number, for :meth:`count`."""
        with self.lock:
            self.paths.append(path)
            self.sent.append(0)
            return len(self.paths) - 1

    def count(self, request: int, sent: int) -> None:
        with self.lock:
            self.sent[request] += sent

    def closed(self, sock: socket.socket) -> None:
        with self.lock:
            self.open.discard(sock)


class Refusal(Exception):
    """A request the server will not answer as asked: answered with this status and reason instead."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


#: How the server answers a request: called with its connection, its path, and its query (the text after ``?``).
Answer = Callable[["Connection", str, str], None]


class Connection:
    """One accepted connection: read one request, answer it as ``answer`` says, close."""

    def __init__(self, state: State, sock: socket.socket, answer: Answer) -> None:
        self._state = state
        self._sock = sock
        self._answer = answer
        self._deadline = time.monotonic() + MAX_SECONDS
        self._request: int | None = None  # the request's number once its target is recorded

    @property
    def stopping(self) -> threading.Event:
        """Set when the server stops: every answer ends."""
        return self._state.stopping

    def serve(self) -> None:
        """Serve the connection, then close it; a client that went away, or stop(), just ends it."""
        try:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each trickled byte sent at once
            self._serve()
        except OSError:  # reset, broken pipe, a timeout, or stop() shut the socket down
            pass
        finally:
            self._close()

    def _serve(self) -> None:
        try:
            target = self._read_request()
            if target is None:  # the client went away first
                return
            path, _, query = target.partition("?")
            self._answer(self, path, query)
        except Refusal as refusal:
            reason = refusal.reason.encode()
            headers: list[Header] = [("Content-Type", "text/plain"), ("Content-Length", len(reason))]
            self.send(head(refusal.status, headers))
            self.send(reason, body=True)

    def _read_request(self) -> str | None:
        """Read the request's head and body; return its target, or None if the client closed first."""
        deadline = time.monotonic() + _REQUEST_SECONDS
        received = bytearray()
        while (end := received.find(b"\r\n\r\n")) < 0:
            if len(received) > _MAX_HEAD:
                raise Refusal(431, f"the request head is longer than {_MAX_HEAD} bytes")
            data = self._recv(deadline)
            if not data:
                return None
            received += data
        if end > _MAX_HEAD:
            raise Refusal(431, f"the request head is longer than {_MAX_HEAD} bytes")
        request_line, *header_lines = bytes(received[:end]).split(b"\r\n")
        parts = request_line.split(b" ")
        if len(parts) != 3 or not parts[1]:
            raise Refusal(400, f"not an HTTP request line: {request_line[:100]!r}")
        target = parts[1].decode("latin-1")
        self._request = self._state.record(target)
        lengths = {v.strip() for n, _, v in (h.partition(b":") for h in header_lines) if n.lower() == b"content-length"}
        if len(lengths) > 1 or not all(length.isdigit() for length in lengths):
            raise Refusal(400, f"not one Content-Length: {sorted(lengths)!r}")
        remaining = int(lengths.pop()) if lengths else 0
        if remaining > _MAX_REQUEST_BODY:
            raise Refusal(413, f"the request body is longer than {_MAX_REQUEST_BODY} bytes")
        remaining -= len(received) - end - 4
        while remaining > 0:  # the body is read and discarded; each recv shortens it
            data = self._recv(deadline)
            if not data:
                return None
            remaining -= len(data)
        self._sock.settimeout(_SEND_SECONDS)
        return target

    def _recv(self, deadline: float) -> bytes:
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            raise TimeoutError("the client took too long to send its request")
        self._sock.settimeout(timeout)
        return self._sock.recv(65536)

    def send(self, data: bytes | memoryview, *, body: bool = False) -> None:
        """Write all of ``data``, counting what each send wrote if it is body bytes."""
        view = memoryview(data)
        while view:
            sent = self._sock.send(view)
            if body and self._request is not None:
                self._state.count(self._request, sent)
            view = view[sent:]

    def paced(self, interval: float, steps: int) -> Iterator[int]:
        """Step numbers from 0, the first at once and then ``interval`` seconds apart, while the answer may last."""
        for step in range(steps):
            if step and self._state.stopping.wait(interval):  # stop() ends the pause at once
                return
            if self._state.stopping.is_set() or time.monotonic() > self._deadline:
                return
            yield step

    def send_body(self, size: int, *, chunked: bool = False) -> None:
        """Write ``size`` body bytes as fast as the client takes them (and the last chunk, if chunked and all went)."""
        steps = -(-size // len(BLOCK))
        written = 0
        for step in self.paced(0.0, steps):
            piece = BLOCK[: min(len(BLOCK), size - step * len(BLOCK))]
            if chunked:
                self.send(f"{len(piece):x}\r\n".encode())
            self.send(piece, body=True)
            if chunked:
                self.send(b"\r\n")
            written += 1
        if chunked and written == steps:
            self.send(b"0\r\n\r\n")

    def wait_for_close(self) -> None:
        """Send nothing, reading and dropping what comes, until the client closes or the answer may last no more."""
        self._sock.settimeout(1.0)  # a second at a time, to see stop() and the deadline
        for _ in range(MAX_STEPS):
            if self._state.stopping.is_set() or time.monotonic() > self._deadline:
                return
            try:
                if not self._sock.recv(65536):  # the client closed
                    return
            except TimeoutError:
                continue

    def _close(self) -> None:
        """Close, having first read what the client still sends (bounded), so that no RST destroys the answer."""
        try:
            self._sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_SECONDS
            for _ in range(_LINGER_BYTES // 65536):
                if not self._recv(deadline):
                    break
        except OSError:  # the client is gone, or the linger timed out
            pass
        finally:
            self._sock.close()
            self._state.closed(self._sock)


def head(status: int, headers: Sequence[Header]) -> bytes:
    """A response head with ``Connection: close``: header values written as given, bytes verbatim."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:  # a status HTTP does not name
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}".encode()]
    for name, value in headers:
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else str(value).encode()))
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"
