"""urllib3 pieces under a pool's adapter: what each connection did, and how old it is.

A pool's :class:`~sessionpool._adapter.PoolAdapter` builds its pool managers
from these classes. Beyond urllib3's own behaviour they

- go through every kind of proxy the same way: HTTP and HTTPS proxies
  (``CONNECT`` for https) here, and SOCKS proxies in :mod:`sessionpool._socks`
  on the same connection classes;
- count every socket a connection opens (including the silent reconnect of
  a connection the server had dropped), and every request with whether it
  went out on a connection already open, into the pool's statistics, and
  tell the pool's listeners of each connection opened;
- keep every connection's state observable: *idle* while it waits in its
  urllib3 pool's queue, *active* while a request has it checked out (see
  :func:`sessionpool._connections.open_connections`);
- note when each connection went back to its pool idle, and close instead of
  reuse one idle longer than ``keepalive_expiry``;
- mark a failure that happened on a *reused* connection before the response
  head arrived, so the retry policy can tell a stale connection from a
  server that failed the request (see :mod:`sessionpool._classify`);
- after such a failure, drop the idle connections to that host that are at
  least as old as the one that failed: they are most likely dead too;
- in a child process made by ``os.fork()``, let go of every connection
  inherited from the parent without disturbing it (see
  :mod:`sessionpool._connections`).

The private urllib3 methods these classes build on are overridden in
:mod:`sessionpool._compat`, which calls the public-named hooks implemented
here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from sessionpool._classify import is_connection_loss, mark_reused_connection_failure
from sessionpool._compat import (
    HookedConnection,
    HookedConnectionPool,
    HookedPoolManager,
    add_connection_keywords,
    drop_idle_connections,
    use_pool_classes,
)
from sessionpool._connections import Origin, track_connection
from sessionpool._deadline import WATCHDOG
from sessionpool._deadline import current as current_deadline
from sessionpool._events import EventDispatcher
from sessionpool._stats import StatsRecorder

__all__ = [
    "ManagedHTTPConnection",
    "ManagedHTTPConnectionPool",
    "ManagedHTTPSConnectionPool",
    "ManagedPoolManager",
    "TransportSettings",
    "failed_after_connecting",
    "managed_pool_manager",
    "managed_proxy_manager",
]


@dataclass(frozen=True)
class TransportSettings:
    """What every connection pool of one adapter shares."""

    stats: StatsRecorder
    keepalive_expiry: float | None
    events: EventDispatcher


def _urllib3_class(obj: object) -> type:
    """The urllib3 class ``obj`` extends: the one users know from requests' messages."""
    return next(cls for cls in type(obj).__mro__ if cls.__module__.startswith("urllib3."))


def _urllib3_name(obj: object) -> str:
    """The name of the urllib3 class ``obj`` extends, for messages."""
    return _urllib3_class(obj).__name__


#: Whether urllib3 names a connection ``HTTPConnection(host=..., port=...)`` in
#: its messages (a NewConnectionError's text starts with it). Older 2.x releases
#: (2.0.2 among them) have no ``__str__`` there and print the object's repr.
_URLLIB3_NAMES_CONNECTIONS = "__str__" in vars(HTTPConnection)


class ManagedHTTPConnection(HookedConnection):
    """An HTTP connection that counts its sockets and remembers when it went idle."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        settings: TransportSettings,
        origin: Origin,
        **kwargs: Any,
    ) -> None:
        # By keyword: a SOCKS connection's first positional parameter is its SOCKS options.
        super().__init__(host=host, port=port, **kwargs)
        self._sessionpool_stats = settings.stats
        self._sessionpool_events = settings.events
        #: The origin its pool serves, which reports name it by: for https
        #: through a proxy, ``host`` is the proxy's, this the target's.
        self._sessionpool_origin = origin
        #: ``time.monotonic()`` when it went back to its pool idle; None while
        #: a request has it checked out (it is *active*), and before its first return.
        self.idle_since: float | None = None
        #: When it last went idle, kept while it is checked out: how long the
        #: connection it was reused from had been waiting.
        self.last_idle_since: float | None = None
        #: Whether it opened a socket since its last checkout: then no request went out on that socket yet.
        self.connected_since_checkout = False
        track_connection(self)

    def __str__(self) -> str:
        """As urllib3 of the installed version names its own connection: error messages read as requests' do."""
        if _URLLIB3_NAMES_CONNECTIONS:
            return f"{_urllib3_name(self)}(host={self.host!r}, port={self.port!r})"
        cls = _urllib3_class(self)
        return f"<{cls.__module__}.{cls.__qualname__} object at {id(self):#x}>"

    def socket_opened(self) -> None:
        """Count the socket just opened, and tell the listeners."""
        # Counted once the connection is established: a refused or timed-out
        # connect opened nothing.
        self._sessionpool_stats.connection_opened()
        self.connected_since_checkout = True
        events = self._sessionpool_events
        if events:  # one truth test when nobody listens
            events.connection_opened(*self._sessionpool_origin)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        """Read the response head, keeping the socket its body will come on for a deadline to cut."""
        # http.client lets go of the socket (sock = None) as soon as the head
        # says the server closes after the answer; the body is still read from it.
        self.sessionpool_socket = self.sock
        return super().getresponse(*args, **kwargs)


class ManagedHTTPSConnection(ManagedHTTPConnection, HTTPSConnection):
    """An HTTPS connection that counts its sockets (TLS follows on each)."""


class ManagedHTTPConnectionPool(HookedConnectionPool):
    ConnectionCls = ManagedHTTPConnection
    #: Set by the pool manager right after it makes the pool.
    sessionpool_settings: TransportSettings

    def __str__(self) -> str:
        return f"{_urllib3_name(self)}(host={self.host!r}, port={self.port!r})"

    def connection_checked_out(self, conn: Any) -> None:
        """Close ``conn`` if it sat idle past ``keepalive_expiry``; it is active from now on."""
        # conn is one of ours: ConnectionCls above.
        expiry = self.sessionpool_settings.keepalive_expiry
        idle_since = getattr(conn, "idle_since", None)
        if (
            expiry is not None
            and idle_since is not None
            and not conn.is_closed
            and time.monotonic() - idle_since > expiry
        ):
            # Too old to trust: the server may close it as we send. The same
            # object reconnects on its next request.
            conn.close()
            self.sessionpool_settings.stats.connections_discarded(1)
        # Out of the queue: active until connection_returning takes it back.
        conn.last_idle_since = idle_since
        conn.idle_since = None
        conn.connected_since_checkout = False

    def connection_returning(self, conn: Any) -> None:
        """Note when ``conn`` went idle; its request's deadline no longer watches it."""
        if conn is not None:
            conn.idle_since = time.monotonic()
            _stop_watching(conn)

    def request_starting(self, conn: Any) -> bool:
        """Count the request about to go out on ``conn``; whether ``conn`` is reused.

        Under a deadline (``PoolConfig.deadline``), the watchdog watches
        ``conn`` from now until it comes back, and cuts it when the deadline passes.
        """
        # Reused: its socket carried a request before this one. A new
        # connection object, or one urllib3 closed because the server had
        # dropped it, connects afresh as the request is sent; one to an https
        # target through an HTTP proxy has connected already (the CONNECT
        # tunnel is made before the request), but its socket is new.
        reused = not conn.is_closed and conn.last_idle_since is not None and not conn.connected_since_checkout
        self.sessionpool_settings.stats.request_sent(reused=reused)
        deadline = current_deadline()
        if deadline is not None:
            conn.sessionpool_deadline = deadline
            WATCHDOG.watch(conn, deadline)
        return reused

    def request_failed(self, conn: Any, error: BaseException, reused: bool) -> None:
        """Mark a connection loss on a reused connection as a stale-connection failure.

        Also mark every error raised once the connection was made (see
        :func:`failed_after_connecting`): the request may have gone out.
        """
        _stop_watching(conn)  # urllib3 drops the connection after a failure
        if not isinstance(error, (NewConnectionError, ConnectTimeoutError)):
            # Connected: directly or through a SOCKS proxy inside this request,
            # through an HTTP proxy's tunnel before it.
            setattr(error, _AFTER_CONNECTING_MARK, True)
        # Only errors raised before the response head was read get here:
        # requests reads the body later, outside the request.
        if reused and is_connection_loss(error):
            mark_reused_connection_failure(error)
            self._drop_idle(went_idle_by=getattr(conn, "last_idle_since", None))

    def _drop_idle(self, went_idle_by: float | None) -> None:
        """Close the idle connections that went idle no later than ``went_idle_by``."""
        if went_idle_by is None:
            return

        def went_idle_in_time(conn: Any) -> bool:
            idle_since = getattr(conn, "idle_since", None)
            return idle_since is not None and idle_since <= went_idle_by

        # Their slots stay, as urllib3 keeps them: a new connection fills each.
        doomed = drop_idle_connections(self, went_idle_in_time)
        for conn in doomed:
            conn.close()
        if doomed:
            self.sessionpool_settings.stats.connections_discarded(len(doomed))


#: Set on an error raised on a connection that was made: see :func:`failed_after_connecting`.
_AFTER_CONNECTING_MARK = "_sessionpool_after_connecting"


def failed_after_connecting(cause: BaseException) -> bool:
    """Whether ``cause`` (an error under requests' and urllib3's layers) came once its connection was made.

    Then the request may have reached the server, or a proxy that passed it
    on. Errors raised while the connection was being made (to a proxy, its
    tunnel, a SOCKS handshake) carry no such mark.
    """
    return getattr(cause, _AFTER_CONNECTING_MARK, False) is True


def _stop_watching(conn: Any) -> None:
    """Stop the watchdog watching ``conn``, if a deadline had it watched."""
    if getattr(conn, "sessionpool_deadline", None) is not None:
        conn.sessionpool_deadline = None
        WATCHDOG.unwatch(conn)


class ManagedHTTPSConnectionPool(ManagedHTTPConnectionPool, HTTPSConnectionPool):
    ConnectionCls = ManagedHTTPSConnection


_POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {
    "http": ManagedHTTPConnectionPool,
    "https": ManagedHTTPSConnectionPool,
}


class ManagedPoolManager(HookedPoolManager):
    """A pool manager whose connection pools are the managed ones above."""

    #: The connection pool classes it makes, by scheme.
    sessionpool_pool_classes: ClassVar[dict[str, type[HTTPConnectionPool]]] = _POOL_CLASSES

    def __init__(self, *args: Any, settings: TransportSettings, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessionpool_settings = settings
        use_pool_classes(self, self.sessionpool_pool_classes)

    def pool_created(self, pool: HTTPConnectionPool, port: int) -> None:
        """Give a new connection pool, and every connection it will make, this manager's settings."""
        pool.sessionpool_settings = self._sessionpool_settings  # type: ignore[attr-defined]
        add_connection_keywords(pool, settings=self._sessionpool_settings, origin=(pool.scheme, pool.host, port))


class _ManagedProxyManager(ManagedPoolManager, ProxyManager):
    """A proxy manager whose connections (to the proxy) are the managed ones above."""


def managed_pool_manager(settings: TransportSettings, **kwargs: Any) -> PoolManager:
    """A :class:`urllib3.PoolManager` taking ``kwargs``, whose pools use ``settings``."""
    return ManagedPoolManager(settings=settings, **kwargs)


def managed_proxy_manager(proxy_url: str, settings: TransportSettings, **kwargs: Any) -> ProxyManager:
    """A :class:`urllib3.ProxyManager` for ``proxy_url`` taking ``kwargs``, whose pools use ``settings``."""
    return _ManagedProxyManager(proxy_url=proxy_url, settings=settings, **kwargs)
