"""The fence around urllib3's private names: hooks on connections, connection pools and pool managers.

urllib3 offers no public hook for a socket opened, a connection checked out
or returned, a request failing before its response, or a connection pool
made; sessionpool needs each to count, age and expire connections and to
mark failures on reused ones. Each item here is a base class whose
override of a private method hands over to a hook with a public name, or a
small function that reaches into a pool's undocumented attributes, under a
comment that says what it relies on and what breaks if it changes. The
fence as a whole, and the versions it holds for, are described in
:mod:`sessionpool._compat`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from urllib3 import HTTPConnectionPool, HTTPHeaderDict, PoolManager
from urllib3.connection import HTTPConnection
from urllib3.response import BaseHTTPResponse

__all__ = [
    "HookedConnection",
    "HookedConnectionPool",
    "HookedPoolManager",
    "add_connection_keywords",
    "drop_idle_connections",
    "header_dict",
    "use_pool_classes",
]


class HookedConnection(HTTPConnection):
    """An HTTP connection that calls :meth:`socket_opened` each time it opens a socket.

    Overrides ``HTTPConnection._new_conn() -> socket.socket``: the method
    that opens the TCP socket, called by ``connect()`` of HTTP and HTTPS
    connections alike (TLS follows on the socket it returns), also for the
    silent reconnect of a connection the server dropped (urllib3 1.x and
    2.x). If it were renamed, no socket would be counted or announced.
    """

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.socket_opened()
        return sock

    def socket_opened(self) -> None:
        """Called once a socket is connected (not for a refused or timed-out connect)."""


class HookedConnectionPool(HTTPConnectionPool):
    """A connection pool that hands each checkout, return and request to a hook with a public name.

    Overrides three private methods of ``HTTPConnectionPool`` (urllib3 2.0 to
    2.8; an HTTPS pool inherits them unchanged), each only to call a hook:

    - ``_get_conn(timeout=None)`` returns the connection a request checks
      out: one from the pool's queue, or a new one made with ``conn_kw`` in
      place of an empty (None) slot;
    - ``_put_conn(conn)`` puts a connection (or None, after a failure) back;
    - ``_make_request(conn, method, url, ...)`` sends one request on a
      checked-out connection and reads the response head (its keywords are
      urllib3 2.0's, passed through untouched); a connection that is not
      open connects inside it, so an error it raises came before any of the
      response arrived.

    If any were renamed, the hook would silently never run: connections
    would not age, not count as idle or active, and stale-connection
    failures would not be marked for retry.
    """

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        self.connection_checked_out(conn)
        return conn

    def _put_conn(self, conn: Any) -> None:
        self.connection_returning(conn)
        super()._put_conn(conn)

    def _make_request(self, conn: Any, method: str, url: str, *args: Any, **kwargs: Any) -> BaseHTTPResponse:
        reused = self.request_starting(conn)
        try:
            return super()._make_request(conn, method, url, *args, **kwargs)
        except BaseException as error:
            self.request_failed(conn, error, reused)
            raise

    def connection_checked_out(self, conn: Any) -> None:
        """Called with the connection a request just checked out, before the request uses it."""

    def connection_returning(self, conn: Any) -> None:
        """Called with the connection (or None) about to go back into the pool's queue."""

    def request_starting(self, conn: Any) -> bool:
        """Called before a request is sent on ``conn``; returns whether ``conn`` is reused (already open)."""
        return not conn.is_closed

    def request_failed(self, conn: Any, error: BaseException, reused: bool) -> None:
        """Called with an error raised before the response head arrived; the error is raised on after it."""


def drop_idle_connections(pool: HTTPConnectionPool, doomed: Callable[[Any], bool]) -> list[Any]:
    """Take the idle connections of ``pool`` that ``doomed`` picks out of its queue, and return them unclosed.

    Each leaves an empty (None) slot behind, as urllib3 keeps the queue
    full: a checkout that finds None makes a new connection. Relies on
    ``HTTPConnectionPool.pool`` (public name, undocumented: the
    ``queue.LifoQueue`` of idle connections and None slots, None once the
    pool is closed) and on the queue's own ``mutex`` and ``queue`` (the
    list under a LifoQueue), both undocumented attributes of the standard
    library's ``queue.Queue`` (every Python 3), and on ``_get_conn``
    treating None as "make one" (urllib3 1.x and 2.x). If the pool's queue
    changed, nothing would be dropped after a stale-connection failure
    (AttributeError if its attributes went).
    """
    queue = pool.pool
    if queue is None:
        return []
    taken = []
    with queue.mutex:
        slots = queue.queue
        for index, conn in enumerate(slots):
            if conn is not None and doomed(conn):
                taken.append(conn)
                slots[index] = None
    return taken


def add_connection_keywords(pool: HTTPConnectionPool, **keywords: Any) -> None:
    """Have ``pool`` pass ``keywords`` to every connection it makes from now on.

    Relies on ``HTTPConnectionPool.conn_kw`` (public name, undocumented
    attribute): the pool's own dict, passed as ``ConnectionCls(host, port,
    ..., **conn_kw)`` by the pool's ``_new_conn``, and on the pool making no
    connection in ``__init__`` (its queue starts as None slots) (urllib3 1.x
    and 2.x). If it changed, connections would be made without the keywords
    (a TypeError from our connection classes, which require them).
    """
    pool.conn_kw.update(keywords)


class HookedPoolManager(PoolManager):
    """A pool manager that calls :meth:`pool_created` with each connection pool it makes.

    Overrides ``PoolManager._new_pool(scheme, host, port, request_context)``,
    which makes every connection pool of the manager, of the class
    ``pool_classes_by_scheme[scheme]`` (urllib3 1.x and 2.x); a
    ``ProxyManager`` inherits it unchanged. If it were renamed, the hook
    would not run and connections would miss their settings.
    """

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        self.pool_created(pool, port)
        return pool

    def pool_created(self, pool: HTTPConnectionPool, port: int) -> None:
        """Called with each new connection pool and the port it was asked for, before its first use."""


def use_pool_classes(manager: PoolManager, classes: dict[str, type[HTTPConnectionPool]]) -> None:
    """Have ``manager`` make its connection pools of ``classes`` (by scheme: ``http``, ``https``).

    Relies on ``PoolManager.pool_classes_by_scheme`` (public name,
    undocumented attribute): the dict ``_new_pool`` picks a pool's class
    from, set per manager by ``__init__`` (urllib3 1.x and 2.x). If it
    changed, the manager would make urllib3's own pools, unhooked.
    """
    manager.pool_classes_by_scheme = classes


def header_dict(fields: dict[str, list[str]]) -> HTTPHeaderDict:
    """An ``HTTPHeaderDict`` holding ``fields`` as they are: no name or value is copied or checked again.

    ``fields`` maps each name in lower case to ``[name as first received,
    value, ...]``. Relies on ``HTTPHeaderDict._container``, a dict of exactly
    that shape (urllib3 1.26 and 2.x), which its every method reads; the
    dict is taken, not copied, so the caller hands it over.
    """
    headers = HTTPHeaderDict()
    headers._container = fields
    return headers
