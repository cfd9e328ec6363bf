"""What the hostile server answers on each path: trickles, heads that never end, lies, bombs and raw bytes.

Each route reads its parameters from the query (:class:`Query`: sizes in
bytes, intervals in seconds, bytes percent-encoded) and writes its answer
through the :class:`~sessionpool.testing._hostile_handler.Connection`,
which bounds it. The paths and their defaults are listed on
:class:`~sessionpool.testing.HostileServer`; a value a route cannot follow
is answered 400 with the reason.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections.abc import Callable, Sequence
from urllib.parse import parse_qs, unquote_to_bytes

from sessionpool.testing._hostile_handler import BLOCK, MAX_SECONDS, MAX_STEPS, Connection, Header, Refusal, head

__all__ = ["Routes"]

#: The largest size asked for (1 TiB): far beyond any test, and still a bound on every loop.
_MAX_SIZE = 1 << 40
#: The largest bomb (16 GiB of zeros, 16 MB compressed, about 90 s to build).
_MAX_BOMB = 16 << 30
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


class Query:
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
            raise Refusal(400, f"{name} must be a whole number from {low} to {high}, not {text!r}")
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
        if not 0 <= seconds <= MAX_SECONDS:  # nan too
            raise Refusal(400, f"{name} must be a number of seconds from 0 to {MAX_SECONDS:g}, not {text!r}")
        return seconds

    def choice(self, name: str, default: str, choices: Sequence[str]) -> str:
        """One of ``choices``."""
        text = self._text(name)
        if text is None:
            return default
        if text not in choices:
            raise Refusal(400, f"{name} must be one of {', '.join(choices)}, not {text!r}")
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


class Routes:
    """The answers of one server, by path; called as a connection's ``answer``. Keeps the bombs it built."""

    def __init__(self) -> None:
        self._bombs = _Bombs()
        self._table: dict[str, Callable[[Connection, Query], None]] = {
            "/trickle": _trickle,
            "/trickle-chunked": _trickle_chunked,
            "/slowloris": _slowloris,
            "/silent-head": _silent_head,
            "/huge": _huge,
            "/close-delimited": _close_delimited,
            "/gzip-bomb": self._gzip_bomb,
            "/lying-length": _lying_length,
            "/raw": _raw,
            "/redirect": _redirect,
        }

    def __call__(self, connection: Connection, path: str, query: str) -> None:
        """Answer the request for ``path`` (anything not listed: ``200 ok``)."""
        route = self._table.get(path, _ok)
        route(connection, Query(query))

    def _gzip_bomb(self, connection: Connection, query: Query) -> None:
        size = query.size("size", _DEFAULT_BOMB_SIZE, high=_MAX_BOMB)
        encoding = query.choice("encoding", "gzip", tuple(_BOMB_FORMATS))
        body = self._bombs.get(encoding, size, connection.stopping)
        if body is None:  # stop() was called while it was built
            return
        headers: list[Header] = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Encoding", encoding),
            ("Content-Length", len(body)),
        ]
        connection.send(head(200, headers))
        connection.send(body, body=True)


def _trickle(connection: Connection, query: Query) -> None:
    size = query.size("size", _DEFAULT_TRICKLE_SIZE)
    chunk = query.size("chunk", 1, low=1, high=len(BLOCK))
    interval = query.seconds("interval", _DEFAULT_INTERVAL)
    connection.send(head(200, [("Content-Type", "application/octet-stream"), ("Content-Length", size)]))
    for step in connection.paced(interval, -(-size // chunk)):
        connection.send(BLOCK[: min(chunk, size - step * chunk)], body=True)


def _trickle_chunked(connection: Connection, query: Query) -> None:
    chunk = query.size("chunk", 1, low=1, high=len(BLOCK))
    interval = query.seconds("interval", _DEFAULT_INTERVAL)
    connection.send(head(200, [("Content-Type", "application/octet-stream"), ("Transfer-Encoding", "chunked")]))
    framing = f"{chunk:x}\r\n".encode()
    for _ in connection.paced(interval, MAX_STEPS):
        connection.send(framing)
        connection.send(BLOCK[:chunk], body=True)
        connection.send(b"\r\n")


def _slowloris(connection: Connection, query: Query) -> None:
    interval = query.seconds("interval", _DEFAULT_SLOWLORIS_INTERVAL)
    connection.send(b"HTTP/1.1 200 OK\r\n")
    for step in connection.paced(interval, MAX_STEPS):
        connection.send(f"X-Slow-{step + 1}: x\r\n".encode())


def _silent_head(connection: Connection, query: Query) -> None:
    del query
    connection.wait_for_close()


def _huge(connection: Connection, query: Query) -> None:
    size = query.size("size", _DEFAULT_HUGE_SIZE)
    chunked = query.flag("chunked")
    framing: Header = ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", size)
    connection.send(head(200, [("Content-Type", "application/octet-stream"), framing]))
    connection.send_body(size, chunked=chunked)


def _close_delimited(connection: Connection, query: Query) -> None:
    size = query.size("size", _DEFAULT_SIZE)
    connection.send(head(200, [("Content-Type", "application/octet-stream")]))
    connection.send_body(size)


def _lying_length(connection: Connection, query: Query) -> None:
    size = query.size("size", _DEFAULT_SIZE)
    actual = query.size("actual", size // 2)
    connection.send(head(200, [("Content-Type", "application/octet-stream"), ("Content-Length", size)]))
    connection.send_body(actual)


def _raw(connection: Connection, query: Query) -> None:
    raw_head, body = query.octets("head"), query.octets("body")
    connection.send(raw_head)
    connection.send(body, body=True)


def _redirect(connection: Connection, query: Query) -> None:
    location = query.octets("to")
    status = query.size("status", 302, low=100, high=999)
    connection.send(head(status, [("Location", location), ("Content-Length", 0)]))


def _ok(connection: Connection, query: Query) -> None:
    del query
    connection.send(head(200, [("Content-Type", "text/plain"), ("Content-Length", 2)]))
    connection.send(b"ok", body=True)
