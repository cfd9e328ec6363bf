"""The hostile HTTP test server on loopback: answers that trickle, lie and bomb, written on a raw socket.

A client that is safe in production survives servers that send too slowly,
too much, or not what they announced. :class:`HostileServer` is such a
server, on purpose: it writes its answers byte by byte on a plain socket,
so it can send what no well-behaved server library sends (a ``Retry-After``
of the one byte 0xB2, a status line that is not HTTP, a head that never
ends). The paths it answers are listed on the class.

Every answer is bounded: it ends when its bytes are sent, when the client
goes away, when :meth:`HostileServer.stop` is called (which also cuts its
pauses short and shuts its socket down), or after 600 s; an endless one
also after a million chunks or header lines, so that ``interval=0`` ends
too. A client that goes away is no error: its connection's thread ends
without a word.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote_from_bytes, unquote_to_bytes

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["HostileServer"]

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")

#: The most a request head may take; nginx's default large header buffers are 4 of 8 KiB, so 64 KiB is generous.
_MAX_HEAD = 64 * 1024
#: The largest request body read and discarded; a larger ``Content-Length`` is answered 413.
_MAX_REQUEST_BODY = 16 * 1024 * 1024
#: Seconds a client has to send its whole request.
_REQUEST_SECONDS = 10.0
#: Seconds one send may wait for a client that stopped reading but keeps the connection open.
_SEND_SECONDS = 30.0
#: The longest an answer lasts: a trickle at 1 byte per 0.5 s would take six days for its default MiB.
_MAX_SECONDS = 600.0
#: The most chunks or header lines an endless answer sends, so that ``interval=0`` ends too.
_MAX_STEPS = 1_000_000
#: The largest size asked for (1 TiB): far beyond any test, and still a bound on every loop.
_MAX_SIZE = 1 << 40
#: The largest bomb (16 GiB of zeros, 16 MB compressed, about 90 s to build).
_MAX_BOMB = 16 << 30
#: Connections served at once: one more is closed as soon as accepted, so a runaway client cannot exhaust threads.
_MAX_OPEN = 256
#: Seconds stop() waits for all the server's threads together.
_STOP_SECONDS = 5.0
#: How often the accepting thread looks whether stop() was called.
_ACCEPT_POLL = 0.05
#: After an answer the server reads what the client still sends, this long and this much at most, before
#: closing: closing a socket with unread input sends an RST, which may destroy the answer before it is read.
_LINGER_SECONDS = 1.0
_LINGER_BYTES = 1024 * 1024

#: Every body byte is cut from this block, written over and over: the server never holds a body of N bytes.
_BLOCK = memoryview(b"x" * 65536)
#: What a bomb is compressed from, a MiB at a time.
_ZEROS = memoryview(bytes(1024 * 1024))
#: The window bits of each bomb's encoding: a gzip wrapper (16 + 15), or zlib's, which HTTP calls deflate.
_BOMB_FORMATS = {"gzip": 31, "deflate": 15}

_DEFAULT_TRICKLE_SIZE = 1024 * 1024
_DEFAULT_INTERVAL = 0.5
_DEFAULT_SLOWLORIS_INTERVAL = 1.0
_DEFAULT_HUGE_SIZE = 256 * 1024 * 1024
_DEFAULT_SIZE = 1024 * 1024
_DEFAULT_BOMB_SIZE = 256 * 1024 * 1024

#: A header as the server writes it: its name, and a value written as bytes, as text, or as a number.
_Header = tuple[str, "bytes | str | int"]


class HostileServer:
    """The server, started by :meth:`start` (or ``with``) and stopped by :meth:`stop`.

    It runs in daemon threads of the calling process: one accepts, and one
    serves each connection. It reads one request per connection (its head
    at most 64 KiB, else a 431; a body of a given ``Content-Length`` at most
    16 MiB, read and discarded, else a 413), answers as its path says, and
    closes the connection; every head it writes itself says
    ``Connection: close``. It records the target of every request
    (:attr:`paths`), counts connections, and counts the body bytes it
    managed to write per request (:meth:`sent_bytes`), so a test can prove
    that a client stopped reading early.

    Sizes in the query are byte counts, intervals seconds (a float), read
    with :func:`urllib.parse.parse_qs`; a value it cannot follow is answered
    400 with the reason. Paths it answers (any method, ``HEAD`` too, with a
    body), defaults in brackets:

    - ``/trickle?size=N&chunk=K&interval=S`` (1 MiB, 1 byte, 0.5 s): ``200``
      with ``Content-Length: N``, then K bytes at once and every S seconds
      until N are sent (K at most 64 KiB);
    - ``/trickle-chunked?chunk=K&interval=S`` (1 byte, 0.5 s): the same with
      ``Transfer-Encoding: chunked``, a chunk of K bytes every S seconds,
      never the last chunk;
    - ``/slowloris?interval=S`` (1.0 s): ``HTTP/1.1 200 OK``, then a header
      line ``X-Slow-<i>: x`` at once and every S seconds, never the blank
      line that ends the head;
    - ``/silent-head``: nothing at all, until the client goes away;
    - ``/huge?size=N`` (256 MiB): ``Content-Length: N`` and N bytes as fast
      as the client takes them (one 64 KiB block written over and over: the
      server never holds N bytes); ``&chunked=1``: chunked instead, in 64 KiB
      chunks;
    - ``/close-delimited?size=N`` (1 MiB): N bytes with neither
      ``Content-Length`` nor chunking, ended by closing the connection;
    - ``/gzip-bomb?size=N&encoding=E`` (256 MiB, ``gzip``): ``Content-Encoding: E``
      and the ``Content-Length`` of a body that decompresses to N zero bytes,
      about a thousandth of N; ``encoding=deflate`` for zlib's format (what
      HTTP calls deflate). Each size is compressed once, a MiB at a time,
      and kept while the server lives: the first request for it waits the
      1.5 s or so that 256 MiB take;
    - ``/lying-length?size=N&actual=M`` (1 MiB, N // 2): ``Content-Length: N``,
      then M bytes and the close;
    - ``/raw?head=H&body=B``: the bytes of H (status line, headers and the
      blank line, as the caller wrote them), then those of B, then the
      close; both percent-encoded, as :meth:`raw_url` writes them;
    - ``/redirect?to=L&status=C`` (302): a redirect whose ``Location`` is the
      percent-encoded bytes L, exactly, with ``Content-Length: 0``;
    - anything else (``/robots.txt`` too): ``200`` and the body ``ok``.

    :param host: the loopback address to listen on (127.0.0.0/8); any other
        raises :class:`ValueError`.
    :param port: the port; 0 picks a free one.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            loopback = ipaddress.ip_address(host) in _LOOPBACK
        except ValueError:  # a name, not an address: "localhost" may resolve to anything
            loopback = False
        if not loopback:
            raise ValueError(f"HostileServer listens on loopback only (127.0.0.0/8), not {host!r}")
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((host, port))  # connections are refused until start() listens
        except BaseException:
            self._listener.close()
            raise
        self._port = int(self._listener.getsockname()[1])
        self._state = _State()
        self._acceptor = threading.Thread(target=self._accept, name=self.thread_name, daemon=True)
        self.host = host
        self.url = f"http://{host}:{self.port}"

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._port

    @property
    def thread_name(self) -> str:
        """The name of its accepting thread, and the start of each connection thread's name."""
        return f"sessionpool-hostileserver-{self._port}"

    @property
    def paths(self) -> list[str]:
        """The target of every request read since the start, in order, as sent (with the query)."""
        with self._state.lock:
            return list(self._state.paths)

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since the start."""
        with self._state.lock:
            return self._state.connections_accepted

    @property
    def open_connections(self) -> int:
        """Client connections open now."""
        with self._state.lock:
            return len(self._state.open)

    def sent_bytes(self, path_prefix: str) -> int:
        """The body bytes written so far for the requests whose target starts with ``path_prefix``.

        Written means handed to the kernel: a client that stopped reading
        early leaves this at its own count plus what the sockets' buffers
        held (a few MiB on loopback), far below a huge body's size.
        """
        with self._state.lock:
            pairs = zip(self._state.paths, self._state.sent, strict=True)
            return sum(sent for path, sent in pairs if path.startswith(path_prefix))

    def raw_url(self, head: bytes, body: bytes = b"") -> str:
        """The URL of ``/raw`` that makes the server write exactly ``head`` then ``body``, then close."""
        return f"{self.url}/raw?head={quote_from_bytes(head, safe='')}&body={quote_from_bytes(body, safe='')}"

    def start(self) -> Self:
        """Listen, and answer in background threads; until then, connections to :attr:`url` are refused."""
        self._listener.listen(128)
        self._listener.settimeout(_ACCEPT_POLL)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop accepting, shut every open connection down, and wait for all threads to end (5 s at most).

        Answers in a pause end at once, and sends blocked on a client that
        does not read fail at once. It may be called more than once.
        """
        state = self._state
        state.stopping.set()
        deadline = time.monotonic() + _STOP_SECONDS
        if self._acceptor.is_alive():
            self._acceptor.join(_STOP_SECONDS)
        self._listener.close()
        # The acceptor has ended, so no connection can be added after this snapshot.
        with state.lock:
            sockets, threads = list(state.open), list(state.threads)
        for sock in sockets:
            with contextlib.suppress(OSError):  # the connection's own thread closed it meanwhile
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accept(self) -> None:
        """Accept connections, each served by a thread of its own, until stop() is called."""
        state = self._state
        while not state.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener is closed
                return
            with state.lock:
                state.connections_accepted += 1
                if state.stopping.is_set() or len(state.open) >= _MAX_OPEN:
                    sock.close()
                    continue
                state.open.add(sock)
                name = f"{self.thread_name}-{state.connections_accepted}"
                thread = threading.Thread(target=_Connection(state, sock).serve, name=name, daemon=True)
                # Started under the lock, so that stop() never sees a thread it cannot join yet.
                state.threads = [t for t in state.threads if t.is_alive()]
                state.threads.append(thread)
                thread.start()


class _State:
    """What the accepting thread and every connection's thread share; changed under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.paths: list[str] = []
        self.sent: list[int] = []  # the body bytes written for each request, beside its path
        self.connections_accepted = 0
        self.open: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []
        self.bombs = _Bombs()

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


class _Bombs:
    """Compressed bodies of zeros, built once per encoding and size and kept while the server lives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[tuple[str, int], bytes] = {}

    def get(self, encoding: str, size: int, stopping: threading.Event) -> bytes | None:
        """The body of ``size`` zeros in ``encoding``; None if stop() was called while it was built."""
        # One build at a time: a second request for the same bomb waits for the first instead of building it twice.
        with self._lock:
            body = self._built.get((encoding, size))
            if body is None:
                body = _compress_zeros(size, _BOMB_FORMATS[encoding], stopping)
                if body is not None:
                    self._built[encoding, size] = body
            return body


def _compress_zeros(size: int, wbits: int, stopping: threading.Event) -> bytes | None:
    """``size`` zero bytes compressed a MiB at a time, never all in memory; None if stop() was called meanwhile."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)  # level 9: 1/1000 of the size (level 1 gives 1/230)
    parts = []
    whole, rest = divmod(size, len(_ZEROS))
    for _ in range(whole):
        if stopping.is_set():
            return None
        parts.append(compressor.compress(_ZEROS))
    parts.append(compressor.compress(_ZEROS[:rest]))
    parts.append(compressor.flush())
    return b"".join(parts)


class _Refusal(Exception):
    """A request the server will not answer as asked: answered with this status and reason instead."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Query:
    """A request's query: numbers read with parse_qs, bytes percent-decoded exactly."""

    def __init__(self, query: str) -> None:
        self._query = query
        self._values = parse_qs(query, keep_blank_values=True)

    def _text(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None

    def size(self, name: str, default: int, *, low: int = 0, high: int = _MAX_SIZE) -> int:
        """A whole number from ``low`` to ``high``."""
        text = self._text(name)
        if text is None:
            return default
        if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
            raise _Refusal(400, f"{name} must be a whole number from {low} to {high}, not {text!r}")
        return int(text)

    def seconds(self, name: str, default: float) -> float:
        """A number of seconds from 0 to the longest an answer lasts."""
        text = self._text(name)
        if text is None:
            return default
        try:
            seconds = float(text)
        except ValueError:
            seconds = math.nan
        if not 0 <= seconds <= _MAX_SECONDS:  # nan too
            raise _Refusal(400, f"{name} must be a number of seconds from 0 to {_MAX_SECONDS:g}, not {text!r}")
        return seconds

    def choice(self, name: str, default: str, choices: Sequence[str]) -> str:
        """One of ``choices``."""
        text = self._text(name)
        if text is None:
            return default
        if text not in choices:
            raise _Refusal(400, f"{name} must be one of {', '.join(choices)}, not {text!r}")
        return text

    def flag(self, name: str) -> bool:
        """Whether ``name`` is given as ``1``."""
        return self.choice(name, "0", ("0", "1")) == "1"

    def octets(self, name: str) -> bytes:
        """The bytes of ``name``, percent-decoded as they are (parse_qs would decode them as UTF-8)."""
        for part in self._query.split("&"):
            key, _, value = part.partition("=")
            if key == name:
                return unquote_to_bytes(value)
        return b""


class _Connection:
    """One accepted connection: read one request, answer it as its path says, close."""

    def __init__(self, state: _State, sock: socket.socket) -> None:
        self._state = state
        self._sock = sock
        self._deadline = time.monotonic() + _MAX_SECONDS
        self._request: int | None = None  # the request's number once its target is recorded
        self._routes: dict[str, Callable[[_Query], None]] = {
            "/trickle": self._trickle,
            "/trickle-chunked": self._trickle_chunked,
            "/slowloris": self._slowloris,
            "/silent-head": self._silent_head,
            "/huge": self._huge,
            "/close-delimited": self._close_delimited,
            "/gzip-bomb": self._gzip_bomb,
            "/lying-length": self._lying_length,
            "/raw": self._raw,
            "/redirect": self._redirect,
        }

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
            route = self._routes.get(path, self._ok)
            route(_Query(query))
        except _Refusal as refusal:
            reason = refusal.reason.encode()
            headers: list[_Header] = [("Content-Type", "text/plain"), ("Content-Length", len(reason))]
            self._send(_head(refusal.status, headers))
            self._send(reason, body=True)

    def _read_request(self) -> str | None:
        """Read the request's head and body; return its target, or None if the client closed first."""
        deadline = time.monotonic() + _REQUEST_SECONDS
        received = bytearray()
        while (end := received.find(b"\r\n\r\n")) < 0:
            if len(received) > _MAX_HEAD:
                raise _Refusal(431, f"the request head is longer than {_MAX_HEAD} bytes")
            data = self._recv(deadline)
            if not data:
                return None
            received += data
        if end > _MAX_HEAD:
            raise _Refusal(431, f"the request head is longer than {_MAX_HEAD} bytes")
        request_line, *header_lines = bytes(received[:end]).split(b"\r\n")
        parts = request_line.split(b" ")
        if len(parts) != 3 or not parts[1]:
            raise _Refusal(400, f"not an HTTP request line: {request_line[:100]!r}")
        target = parts[1].decode("latin-1")
        self._request = self._state.record(target)
        lengths = {v.strip() for n, _, v in (h.partition(b":") for h in header_lines) if n.lower() == b"content-length"}
        if len(lengths) > 1 or not all(length.isdigit() for length in lengths):
            raise _Refusal(400, f"not one Content-Length: {sorted(lengths)!r}")
        remaining = int(lengths.pop()) if lengths else 0
        if remaining > _MAX_REQUEST_BODY:
            raise _Refusal(413, f"the request body is longer than {_MAX_REQUEST_BODY} bytes")
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

    def _send(self, data: bytes | memoryview, *, body: bool = False) -> None:
        """Write all of ``data``, counting what each send wrote if it is body bytes."""
        view = memoryview(data)
        while view:
            sent = self._sock.send(view)
            if body and self._request is not None:
                self._state.count(self._request, sent)
            view = view[sent:]

    def _paced(self, interval: float, steps: int) -> Iterator[int]:
        """Step numbers from 0, the first at once and then ``interval`` seconds apart, while the answer may last."""
        for step in range(steps):
            if step and self._state.stopping.wait(interval):  # stop() ends the pause at once
                return
            if self._state.stopping.is_set() or time.monotonic() > self._deadline:
                return
            yield step

    def _send_body(self, size: int, *, chunked: bool = False) -> None:
        """Write ``size`` body bytes as fast as the client takes them (and the last chunk, if chunked and all went)."""
        steps = -(-size // len(_BLOCK))
        written = 0
        for step in self._paced(0.0, steps):
            piece = _BLOCK[: min(len(_BLOCK), size - step * len(_BLOCK))]
            if chunked:
                self._send(f"{len(piece):x}\r\n".encode())
            self._send(piece, body=True)
            if chunked:
                self._send(b"\r\n")
            written += 1
        if chunked and written == steps:
            self._send(b"0\r\n\r\n")

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

    def _trickle(self, query: _Query) -> None:
        size = query.size("size", _DEFAULT_TRICKLE_SIZE)
        chunk = query.size("chunk", 1, low=1, high=len(_BLOCK))
        interval = query.seconds("interval", _DEFAULT_INTERVAL)
        self._send(_head(200, [("Content-Type", "application/octet-stream"), ("Content-Length", size)]))
        for step in self._paced(interval, -(-size // chunk)):
            self._send(_BLOCK[: min(chunk, size - step * chunk)], body=True)

    def _trickle_chunked(self, query: _Query) -> None:
        chunk = query.size("chunk", 1, low=1, high=len(_BLOCK))
        interval = query.seconds("interval", _DEFAULT_INTERVAL)
        self._send(_head(200, [("Content-Type", "application/octet-stream"), ("Transfer-Encoding", "chunked")]))
        framing = f"{chunk:x}\r\n".encode()
        for _ in self._paced(interval, _MAX_STEPS):
            self._send(framing)
            self._send(_BLOCK[:chunk], body=True)
            self._send(b"\r\n")

    def _slowloris(self, query: _Query) -> None:
        interval = query.seconds("interval", _DEFAULT_SLOWLORIS_INTERVAL)
        self._send(b"HTTP/1.1 200 OK\r\n")
        for step in self._paced(interval, _MAX_STEPS):
            self._send(f"X-Slow-{step + 1}: x\r\n".encode())

    def _silent_head(self, query: _Query) -> None:
        del query
        self._sock.settimeout(1.0)  # a second at a time, to see stop() and the deadline
        for _ in range(_MAX_STEPS):
            if self._state.stopping.is_set() or time.monotonic() > self._deadline:
                return
            try:
                if not self._sock.recv(65536):  # the client closed
                    return
            except TimeoutError:
                continue

    def _huge(self, query: _Query) -> None:
        size = query.size("size", _DEFAULT_HUGE_SIZE)
        chunked = query.flag("chunked")
        framing: _Header = ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", size)
        self._send(_head(200, [("Content-Type", "application/octet-stream"), framing]))
        self._send_body(size, chunked=chunked)

    def _close_delimited(self, query: _Query) -> None:
        size = query.size("size", _DEFAULT_SIZE)
        self._send(_head(200, [("Content-Type", "application/octet-stream")]))
        self._send_body(size)

    def _gzip_bomb(self, query: _Query) -> None:
        size = query.size("size", _DEFAULT_BOMB_SIZE, high=_MAX_BOMB)
        encoding = query.choice("encoding", "gzip", tuple(_BOMB_FORMATS))
        body = self._state.bombs.get(encoding, size, self._state.stopping)
        if body is None:  # stop() was called while it was built
            return
        headers: list[_Header] = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Encoding", encoding),
            ("Content-Length", len(body)),
        ]
        self._send(_head(200, headers))
        self._send(body, body=True)

    def _lying_length(self, query: _Query) -> None:
        size = query.size("size", _DEFAULT_SIZE)
        actual = query.size("actual", size // 2)
        self._send(_head(200, [("Content-Type", "application/octet-stream"), ("Content-Length", size)]))
        self._send_body(actual)

    def _raw(self, query: _Query) -> None:
        head, body = query.octets("head"), query.octets("body")
        self._send(head)
        self._send(body, body=True)

    def _redirect(self, query: _Query) -> None:
        location = query.octets("to")
        status = query.size("status", 302, low=100, high=999)
        self._send(_head(status, [("Location", location), ("Content-Length", 0)]))

    def _ok(self, query: _Query) -> None:
        del query
        self._send(_head(200, [("Content-Type", "text/plain"), ("Content-Length", 2)]))
        self._send(b"ok", body=True)


def _head(status: int, headers: Sequence[_Header]) -> bytes:
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
