"""One transfer of a line driven to where its reader needs it: :func:`drive`, and :class:`StreamedBody`.

The pool drives a line's transfer itself (libcurl's multi interface, one
step at a time), so that it measures the read timeout (no byte for that
long) and the deadline, and so that a streamed body is read no further than
what its reader asked for.
"""

from __future__ import annotations

import http.client
import os
import time

from sessionpool._curl.line import Line, Lines
from sessionpool._curl.response import BodyFile

__all__ = ["StreamedBody", "drive"]

#: While a connection is still being made, the read timeout's clock is started again this often (seconds).
_CONNECTING_CHECK = 0.05


def drive(
    line: Line,
    read_timeout: float | None,
    expires: float | None,
    *,
    head_only: bool = False,
    wanted: int | None = None,
) -> None:
    """Step ``line``'s transfer until it ends, its head is complete (``head_only``) or ``wanted`` bytes of body wait.

    Stops it at ``expires`` (the deadline; the caller raises its error) and
    after ``read_timeout`` seconds without a byte once connected.
    """
    outcome = line.outcome
    while not outcome.ended:
        if head_only and line.head_done:
            return
        if wanted is not None and line.buffered >= wanted:
            return
        now = time.monotonic()
        wait = 1.0
        if expires is not None:
            if now >= expires:
                line.abort()
                return
            wait = min(wait, expires - now)
        if read_timeout is not None:
            idle = now - line.last_byte
            if idle >= read_timeout:
                if line.head or line.connected():
                    line.abort(read_timeout=True)
                    return
                line.last_byte = now  # still connecting: the connect timeout is libcurl's; the read clock starts later
                idle = 0.0
                wait = min(wait, _CONNECTING_CHECK)
            wait = min(wait, read_timeout - idle)
        line.step(max(1, int(wait * 1000)))


def _stream_error(code: int, read_timeout: bool, message: str, partial: bytes) -> Exception:
    """What a body read raises for a transfer that failed (``partial``: what that read got before it).

    These are the errors urllib3's response turns into requests'.
    """
    if read_timeout or code == 28:
        return TimeoutError("The read operation timed out")
    if code == 18:
        return http.client.IncompleteRead(partial)
    return ConnectionResetError(f"curl: ({code}) {message}")


class StreamedBody:
    """A streamed body: read from its line as it arrives; the line goes back to the session once the body is done."""

    def __init__(
        self,
        lines: Lines,
        last_used: dict[str, float],
        line: Line,
        read_timeout: float | None,
        expires: float | None,
        where: str,
    ) -> None:
        self._lines = lines
        self._last_used = last_used
        self._line: Line | None = line
        self._read_timeout = read_timeout
        self._expires = expires
        self._where = where
        self.file = BodyFile(self._read, self._close, self.ended, self._arrived)

    def ended(self) -> bool:
        # A transfer that failed is not over until a read has raised its error: urllib3's
        # stream() stops at a closed file without reading again, which would cut a body silently.
        line = self._line
        return line is None or (line.outcome.ended and not line.chunks and not line.outcome.code)

    def _arrived(self) -> int:
        line = self._line
        if line is None:
            return 0
        drive(line, self._read_timeout, self._expires, wanted=1)
        return line.buffered

    def _read(self, amt: int | None) -> bytes:
        line = self._line
        if line is None:
            return b""
        drive(line, self._read_timeout, self._expires, wanted=amt)
        data = line.take(amt)
        outcome = line.outcome
        if outcome.ended and not line.chunks:
            if not outcome.code:
                self._release(line, clean=True)  # the whole body came: later reads give b""
            elif not data or amt is None:  # a read of some bytes hands over what came before the failure first
                self._release(line, clean=False)
                raise _stream_error(outcome.code, outcome.read_timeout, line.message(), data)
        return data

    def _close(self) -> None:
        line = self._line
        if line is not None:
            clean = line.outcome.ended and not line.outcome.code
            if not line.outcome.ended:
                line.abort()
            self._release(line, clean=clean)

    def _release(self, line: Line, *, clean: bool) -> None:
        self._line = None
        if clean:
            self._last_used[self._where] = time.monotonic()
        self._lines.give_back(line)

    def __del__(self) -> None:
        line = self._line
        if line is not None and line.pid == os.getpid():
            line.abort()
            self._lines.give_back(line)
