"""A *line*: one libcurl multi handle driving one easy handle, with the connections of one session.

libcurl allows a handle to be used by one thread at a time, and no sharing
of connection caches between threads that run at once. So each pooled
session sends through lines of its own (:class:`Lines`): a line holds its
connections in its multi handle's cache, as the session's urllib3 pools
hold them with the default transport, and serves one transfer at a time. A
second line is taken only while a streamed body still holds the first, as
urllib3 takes a second connection.

A transfer is driven from the thread that reads it: ``curl_multi_perform``
does what the sockets allow, ``curl_multi_poll`` waits for them with the GIL
released. Driving it from the caller keeps two promises that a transfer
run to completion by ``curl_easy_perform`` could not: a streamed body is
handed over as it arrives (nothing is read ahead but what one step brings),
and the read timeout is requests' own (no byte for that long), measured
here, where libcurl has only whole seconds of "low speed".

The options of each transfer are set through the line's :class:`~sessionpool._curl.options.Options`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from curl_cffi import ffi, lib

from sessionpool._connections import Origin
from sessionpool._curl.memory_file import MemoryFile
from sessionpool._curl.options import Options
from sessionpool._curl.short_calls import ShortCalls
from sessionpool._curl.sockets import Sockets
from sessionpool._stats import StatsRecorder

__all__ = ["Line", "Lines", "Outcome"]

# libcurl's constants (curl/curl.h, curl/multi.h).
_INFO_NUM_CONNECTS = 0x200000 + 26
_INFO_REQUEST_SIZE = 0x200000 + 12
_MULTI_MAXCONNECTS = 6
_ERRORBUFFER = 10000 + 10
_WRITEDATA = 10000 + 1
_HEADERDATA = 10000 + 29
_SHARE = 10000 + 100

#: The longest one wait for the sockets lasts: a stop (a deadline, a read
#: timeout) is noticed at least this often, in milliseconds.
_POLL_MS = 1000


class Outcome:
    """How a transfer ended, or where it stands: its result code once it ended."""

    __slots__ = ("code", "ended", "error", "read_timeout")

    def __init__(self) -> None:
        self.ended = False
        self.code = 0
        self.read_timeout = False
        #: What the request's body raised while libcurl read it (raised to the caller as it is).
        self.error: BaseException | None = None


class Line:
    """One multi handle and one easy handle; a transfer at a time (see the module docstring).

    :param share: the pool's share handle (the TLS session cache), or None.
    :param max_connections: the most connections the line's cache keeps open.
    :param stats: the pool's statistics recorder, by which its ``open_connections()`` finds the line's.
    """

    def __init__(self, share: Any, max_connections: int, stats: StatsRecorder) -> None:
        self.pid = os.getpid()
        self.multi = lib.curl_multi_init()
        self.easy = lib.curl_easy_init()
        if self.multi == ffi.NULL or self.easy == ffi.NULL:  # pragma: no cover - out of memory
            raise MemoryError("libcurl could not make a handle")
        #: The calls that only touch the handles' memory, made keeping the GIL.
        self.calls = ShortCalls(self.multi, self.easy)
        self.error_buffer = ffi.new("char[]", 256)
        lib.curl_multi_setopt(self.multi, _MULTI_MAXCONNECTS, ffi.new("long*", max_connections))
        # Where libcurl writes the answer, for the line's life (no callback: see memory_file).
        self._body_file = MemoryFile()
        self._head_file = MemoryFile()
        # Set again after every reset: no WRITEFUNCTION or HEADERFUNCTION, so libcurl's own fwrite to these streams.
        fixed = [(_ERRORBUFFER, self.error_buffer), (_WRITEDATA, self._body_file.stream)]
        fixed.append((_HEADERDATA, self._head_file.stream))
        if share is not None:
            fixed.append((_SHARE, share))
        #: The sockets libcurl holds open for the line.
        self.sockets = Sockets(stats)
        fixed += self.sockets.options
        #: The options of the next transfer, for the request module.
        self.options = Options(self.easy, self.calls, fixed, self.message)
        #: The head as it arrived: the answer's header block once :attr:`head_done` (interim 1xx blocks dropped).
        self.head = b""
        self.head_done = False
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.last_byte = 0.0
        self.outcome = Outcome()
        self.active = False
        self._warm = False
        self._unread = False

    # -- a transfer ----------------------------------------------------------

    def start(self, origin: Origin, *, warm: bool = False) -> None:
        """Begin the transfer the options describe, to ``origin`` (as ``open_connections()`` names its connections).

        :param warm: the transfer will most likely go out on a connection
            already open (the session's last transfer to its origin ended
            cleanly, not long ago). Its steps then keep the GIL: each is a
            send or a read that does not wait, cheaper than handing the GIL to
            another thread and waiting for it back; only the wait for the
            sockets lets go of it. A transfer that makes a connection (DNS,
            TCP, TLS handshakes, a proxy's tunnel) lets go of it in every step.
        """
        self.head = b""
        self.head_done = False
        self.chunks = []
        self.buffered = 0
        self.outcome = Outcome()
        self.error_buffer[0] = b"\0"
        if self._unread:  # what an aborted transfer left in the streams
            self._body_file.drain()
            self._head_file.drain()
            self._unread = False
        self._warm = warm
        self.last_byte = time.monotonic()
        self.active = True
        sockets = self.sockets
        sockets.origin = origin
        sockets.in_flight = True
        self.calls.add()

    def step(self, wait_ms: int) -> None:
        """Do what the sockets allow; if the transfer is not over, wait up to ``wait_ms`` for them."""
        calls = self.calls
        running = calls.perform(keep_gil=self._warm)
        if running == 0:
            self._collect()
            self._finish()
            return
        if wait_ms > 0:
            lib.curl_multi_poll(self.multi, ffi.NULL, 0, min(wait_ms, _POLL_MS), ffi.NULL)
            running = calls.perform(keep_gil=self._warm)
        self._collect()
        if running == 0:
            self._finish()

    def _collect(self) -> None:
        """Take what libcurl wrote in this step: header lines first (a step may bring the head and some body)."""
        head = self._head_file.drain()
        body = self._body_file.drain()
        if head:
            self.last_byte = time.monotonic()
            if not self.head_done:  # after it: trailers of a chunked body, not headers of the answer
                self._on_head(head)
        if body:
            self.chunks.append(body)
            self.buffered += len(body)
            self.last_byte = time.monotonic()
            self.head_done = True

    def _finish(self) -> None:
        self._end(self.calls.result())

    def abort(self, *, read_timeout: bool = False) -> None:
        """End the transfer where it is: libcurl closes its connection."""
        if self.active:
            self.outcome.read_timeout = read_timeout
            self._unread = True
            self._end(28 if read_timeout else 42)  # OPERATION_TIMEDOUT, ABORTED_BY_CALLBACK

    def _end(self, code: int) -> None:
        self.calls.remove()
        self.active = False
        outcome = self.outcome
        outcome.ended = True
        if not outcome.code:
            outcome.code = code
        outcome.error = self.options.transfer_ended()

    def take(self, amt: int | None) -> bytes:
        """Up to ``amt`` bytes of what arrived of the body (all of it if None), taken from the line's buffer."""
        chunks = self.chunks
        if not chunks:
            return b""
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if amt is None or len(data) <= amt:
            self.chunks = []
            self.buffered = 0
            return data
        self.chunks = [data[amt:]]
        self.buffered = len(data) - amt
        return data[:amt]

    def connections_made(self) -> int:
        """New connections the transfer opened (0: it went out on one already open)."""
        return self.calls.info(_INFO_NUM_CONNECTS)

    def connected(self) -> bool:
        """Whether the transfer got as far as sending (its connection, and any TLS or proxy tunnel, was up).

        Told by the bytes of request it sent: libcurl 8 takes its "pretransfer"
        time before it connects, so a refused connection has one too.
        """
        return self.calls.info(_INFO_REQUEST_SIZE) > 0

    def message(self) -> str:
        """Libcurl's message for the last failure."""
        return ffi.string(self.error_buffer).decode("utf-8", "replace")  # type: ignore[no-any-return]

    def _on_head(self, data: bytes) -> None:
        """Add header lines that arrived; the head is done at the end of a block that is not an interim 1xx.

        libcurl hands over the blocks of interim answers (``100 Continue``)
        before the answer's; each is dropped once complete. (The ``200`` of a
        proxy's CONNECT is kept from us: ``SUPPRESS_CONNECT_HEADERS``.)
        """
        head = self.head + data if self.head else data
        end = _block_end(head)
        while end > 0:
            status = _status_of(head)
            if status is None or not 100 <= status < 200:
                self.head = head[:end]  # what follows the answer's block, if anything, is no header of it
                self.head_done = True
                return
            head = head[end:]
            end = _block_end(head)
        self.head = head

    def close(self) -> None:
        """Close the line's connections and free its handles (in a forked child: only let go of them)."""
        if self.pid != os.getpid():
            return  # the parent still uses these connections: closing them here could end its TLS sessions
        if self.active:
            lib.curl_multi_remove_handle(self.multi, self.easy)
            self.active = False
            self.sockets.in_flight = False
        if self.easy != ffi.NULL:
            lib.curl_easy_cleanup(self.easy)
            self.easy = ffi.NULL
        self.options.close()
        if self.multi != ffi.NULL:
            lib.curl_multi_cleanup(self.multi)
            self.multi = ffi.NULL
        self._body_file.close()
        self._head_file.close()


def _block_end(head: bytes) -> int:
    """Where the first block of ``head`` ends (after its blank line), or -1 if it has not yet."""
    crlf = head.find(b"\n\r\n")
    lf = head.find(b"\n\n")
    if lf < 0:
        return -1 if crlf < 0 else crlf + 3
    return crlf + 3 if 0 <= crlf < lf else lf + 2


def _status_of(head: bytes) -> int | None:
    """The status code of the block ``head`` starts with, or None if its first line is no status line."""
    if not head.startswith(b"HTTP/"):
        return None
    parts = head[: head.find(b"\n")].split(None, 2)
    code = parts[1] if len(parts) > 1 else b""
    return int(code) if len(code) == 3 and code.isdigit() else None


class Lines:
    """The lines of one session: one normally, another for each streamed body still being read.

    :param make: makes a line.
    :param keep: the most idle lines kept (the session's ``pool_maxsize``); one
        more is closed when its transfer ends.
    """

    def __init__(self, make: Callable[[], Line], keep: int) -> None:
        self._make = make
        self._keep = keep
        self._idle: list[Line] = []
        self._lock = threading.Lock()
        self._closed = False

    def take(self) -> Line:
        """A line with no transfer: an idle one (the most recently used, whose connections are warmest) or a new one."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._make()

    def give_back(self, line: Line) -> None:
        """``line``'s transfer ended: keep it for the next, or close it if enough are kept (or the session closed)."""
        line.sockets.in_flight = False  # its connection is free for the next request from now on (a body read)
        with self._lock:
            if not self._closed and len(self._idle) < self._keep:
                self._idle.append(line)
                return
        line.close()

    def close(self) -> None:
        """Close every idle line; a line still streaming closes when its body is done."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for line in idle:
            line.close()
