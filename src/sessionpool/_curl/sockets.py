"""The sockets libcurl holds open for one line, and the origin each serves: the curl transport's open connections.

libcurl keeps a line's connections in its multi handle's cache and says
nothing of them. But it calls back when it has made a socket
(``CURLOPT_SOCKOPTFUNCTION``) and asks to have one closed
(``CURLOPT_CLOSESOCKETFUNCTION``, which closes it here): between the two,
the socket is an open connection. Each is noted with the origin of the
transfer that made it, and counted by :func:`sessionpool._connections.open_connections`
through the registry there. A line serves one request at a time: from its
transfer's start until the line is given back (its body read, as urllib3
keeps a connection checked out), one connection to its origin is *active*;
the rest are *idle*.

Both are ctypes callbacks: they take the GIL whichever way the call that
runs them was made (see :mod:`sessionpool._curl.short_calls`). libcurl
keeps a copy of each with every connection it makes, so they must live as
long as the line's handles: the line holds this object.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

from curl_cffi import ffi

from sessionpool._connections import Origin, track_source
from sessionpool._stats import StatsRecorder

__all__ = ["Sockets"]

# libcurl's constants (curl/curl.h).
_SOCKOPTFUNCTION = 20000 + 148
_CLOSESOCKETFUNCTION = 20000 + 208
_SOCKTYPE_IPCXN = 0  # a socket for a connection (not one accepted)
_SOCKOPT_OK = 0

_OpenedCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int)
_CloseCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int)


class Sockets:
    """The open sockets of one line (see the module docstring).

    :param stats: the pool's statistics recorder, by which its
        ``open_connections()`` finds them.
    """

    def __init__(self, stats: StatsRecorder) -> None:
        self.stats = stats
        #: The origin of the line's transfer, as :class:`~sessionpool.OpenConnections` names it.
        self.origin: Origin = ("", "", 0)
        #: Whether a request holds the line: from its transfer's start until the line is given back.
        self.in_flight = False
        self._open: dict[int, Origin] = {}
        self._opened_callback = _OpenedCallback(self._opened)
        self._close_callback = _CloseCallback(self._close)
        #: ``(option, pointer)`` pairs the line sets after every reset.
        self.options: list[tuple[int, Any]] = [
            (_SOCKOPTFUNCTION, _pointer(self._opened_callback)),
            (_CLOSESOCKETFUNCTION, _pointer(self._close_callback)),
        ]
        track_source(self)

    def _opened(self, _client: int | None, fd: int, purpose: int) -> int:
        if purpose == _SOCKTYPE_IPCXN:
            self._open[fd] = self.origin
        return _SOCKOPT_OK

    def _close(self, _client: int | None, fd: int) -> int:
        self._open.pop(fd, None)
        try:
            os.close(fd)
        except OSError:
            return 1  # libcurl's "could not close"
        return 0

    def connections(self) -> list[tuple[Origin, bool]]:
        """Each open connection's origin, and whether the request that holds the line has it."""
        origins = list(self._open.copy().values())  # copied at once: the line's thread may add or remove one
        idle = [(origin, False) for origin in origins]
        if self.in_flight and self.origin in origins:
            idle.remove((self.origin, False))
            return [(self.origin, True), *idle]
        return idle


def _pointer(callback: Any) -> Any:
    """A ctypes callback as the cffi pointer curl_cffi's setopt takes."""
    return ffi.cast("void *", ctypes.cast(callback, ctypes.c_void_p).value)
