"""Which connections a pool holds open: :func:`open_connections`, over both transports.

Every connection the urllib3 transport makes registers itself here
(:func:`track_connection`), and so does every line of the curl transport,
which knows the sockets libcurl holds for it (:func:`track_source`). Both
are kept weakly, in one registry per process, and counted per pool by its
statistics recorder. In a child made by ``os.fork()`` the registry starts
empty, and every inherited urllib3 connection lets go of its socket (see
:func:`_release_inherited_connections`).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from sessionpool._stats import StatsRecorder

__all__ = ["ConnectionSource", "OpenConnections", "Origin", "open_connections", "track_connection", "track_source"]

#: (scheme, host, port): the origin a connection serves.
Origin = tuple[str, str, int]


@dataclass(frozen=True, kw_only=True)
class OpenConnections:
    """The open connections of one pool to one origin, at one moment (see :func:`open_connections`).

    :param scheme: ``"http"`` or ``"https"``.
    :param host: the host the connections serve, as urllib3 keys its pools
        (an IPv6 address without brackets); for plain http through an HTTP
        proxy, the proxy (through ``CONNECT`` or SOCKS, the target).
    :param port: the port they serve.
    :param idle: open connections waiting for the next request.
    :param active: open connections a request has: on HTTP/1.1, one per
        request in flight (its response body not yet read).
    """

    scheme: str
    host: str
    port: int
    idle: int
    active: int


class TrackedConnection(Protocol):
    """A urllib3 connection of a pool (:class:`sessionpool._transport.ManagedHTTPConnection`)."""

    _sessionpool_stats: StatsRecorder
    _sessionpool_origin: Origin
    #: None while a request has it checked out (it is active).
    idle_since: float | None

    @property
    def is_closed(self) -> bool:
        """Whether its socket is closed."""

    def close(self) -> None:
        """Close its socket."""


class ConnectionSource(Protocol):
    """What holds connections of its own, and says which are open (a line of the curl transport)."""

    stats: StatsRecorder

    def connections(self) -> list[tuple[Origin, bool]]:
        """Each open connection's origin, and whether a request has it (active)."""


#: Every urllib3 connection and curl line alive in this process, for a forked
#: child to let go of and for :func:`open_connections` to count.
_LIVE_CONNECTIONS: weakref.WeakSet[TrackedConnection] = weakref.WeakSet()
_LIVE_SOURCES: weakref.WeakSet[ConnectionSource] = weakref.WeakSet()
#: Guards adding to them against a concurrent copy: iterating a WeakSet while
#: another thread adds to it raises RuntimeError. (Entries that die during a
#: copy are handled by the WeakSet itself.)
_LIVE_CONNECTIONS_LOCK = threading.Lock()


def track_connection(connection: TrackedConnection) -> None:
    """Count ``connection`` in its pool's :func:`open_connections`, for as long as it lives."""
    with _LIVE_CONNECTIONS_LOCK:
        _LIVE_CONNECTIONS.add(connection)


def track_source(source: ConnectionSource) -> None:
    """Count the connections ``source`` says are open in its pool's :func:`open_connections`, while it lives."""
    with _LIVE_CONNECTIONS_LOCK:
        _LIVE_SOURCES.add(source)


def open_connections(stats: StatsRecorder) -> list[OpenConnections]:
    """The open connections of the pool whose counters are ``stats``, idle and active, per origin.

    A picture taken without stopping anyone: a connection may change state
    while it is taken, and one the server has closed while it sat idle counts
    as idle (open) until a checkout finds it dead. Sorted by origin; origins
    without an open connection are left out.
    """
    with _LIVE_CONNECTIONS_LOCK:
        connections = list(_LIVE_CONNECTIONS)
        sources = list(_LIVE_SOURCES)
    idle: Counter[Origin] = Counter()
    active: Counter[Origin] = Counter()
    for conn in connections:
        if conn._sessionpool_stats is not stats or conn.is_closed:
            continue
        if conn.idle_since is None:
            active[conn._sessionpool_origin] += 1
        else:
            idle[conn._sessionpool_origin] += 1
    for source in sources:
        if source.stats is stats:
            for origin, in_use in source.connections():
                (active if in_use else idle)[origin] += 1
    return [
        OpenConnections(scheme=origin[0], host=origin[1], port=origin[2], idle=idle[origin], active=active[origin])
        for origin in sorted(idle.keys() | active.keys())
    ]


def _release_inherited_connections() -> None:
    """In a forked child: close this process's descriptors of every inherited urllib3 connection.

    Parent and child share each inherited socket. Closing a descriptor in
    the child neither sends a FIN (the parent still holds the socket) nor a
    TLS close_notify (Python sends none on close), so the parent's
    connections go on undisturbed, while the child can never write into the
    middle of one of them: any inherited connection it still reaches
    reconnects first. No lock is taken, since a thread of the parent may
    have held one at the moment of the fork. (The curl transport's lines
    let go of theirs themselves: see :meth:`sessionpool._curl.line.Line.close`.)
    """
    global _LIVE_CONNECTIONS_LOCK
    # A parent's thread may have held the lock at the fork: the child's copy
    # would never be released.
    _LIVE_CONNECTIONS_LOCK = threading.Lock()
    for conn in list(_LIVE_CONNECTIONS):
        conn.close()
    _LIVE_CONNECTIONS.clear()
    _LIVE_SOURCES.clear()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_release_inherited_connections)
