"""The transport under every session of a pool: :class:`PoolAdapter`.

Each session mounts its own adapter (closing one session must never clear
connection pools another session still uses), built from the pool's shared
settings. Beyond requests' own :class:`~requests.adapters.HTTPAdapter`, it

- applies the pool's default timeout to every request that passes none,
  including requests made directly on a borrowed session;
- counts the requests it sends and the TCP connections its urllib3 pools
  open, into the pool's statistics. Connections are counted where the socket
  is made, so a connection urllib3 silently reopens after the server dropped
  it counts too.
"""

from __future__ import annotations

import socket
from typing import Any

from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection

from sessionpool.config import PoolConfig
from sessionpool.stats import StatsRecorder

__all__ = ["PoolAdapter"]


class _CountingHTTPConnection(HTTPConnection):
    """An HTTP connection that reports every socket it opens."""

    def __init__(self, host: str, port: int | None = None, *, stats: StatsRecorder, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._sessionpool_stats = stats

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        # Counted once the connection is established: a refused or timed-out
        # connect opened nothing.
        self._sessionpool_stats.connection_opened()
        return sock


class _CountingHTTPSConnection(_CountingHTTPConnection, HTTPSConnection):
    """An HTTPS connection that reports every socket it opens (TLS follows on it)."""


class _CountingHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _CountingHTTPConnection


class _CountingHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _CountingHTTPSConnection


class _CountingPoolManager(PoolManager):
    """A pool manager whose connection pools count into ``stats``."""

    def __init__(self, *args: Any, stats: StatsRecorder, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessionpool_stats = stats
        self.pool_classes_by_scheme = {"http": _CountingHTTPConnectionPool, "https": _CountingHTTPSConnectionPool}

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        # conn_kw is this pool's own dict, passed to every connection it makes.
        pool.conn_kw["stats"] = self._sessionpool_stats
        return pool


class _CountingProxyManager(_CountingPoolManager, ProxyManager):
    """A proxy manager whose connections (to the proxy) count into ``stats``."""


class PoolAdapter(HTTPAdapter):
    """The adapter every session of a pool mounts for ``http://`` and ``https://``.

    :param config: the pool's shared configuration (adapter sizes, default timeout).
    :param stats: the pool's counters, shared by all its sessions' adapters.
    """

    def __init__(self, config: PoolConfig, stats: StatsRecorder) -> None:
        # Set before HTTPAdapter.__init__, which builds the pool manager.
        self._sessionpool_stats = stats
        self._default_timeout = config.timeout
        super().__init__(
            pool_connections=config.pool_connections,
            pool_maxsize=config.pool_maxsize,
            pool_block=config.pool_block,
        )

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        """Build the pool manager for direct connections (called by HTTPAdapter)."""
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _CountingPoolManager(
            num_pools=connections, maxsize=maxsize, block=block, stats=self._sessionpool_stats, **pool_kwargs
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The pool manager for one HTTP(S) proxy; SOCKS proxies are left to requests, uncounted."""
        if proxy in self.proxy_manager or proxy.lower().startswith("socks"):
            return super().proxy_manager_for(proxy, **proxy_kwargs)
        manager = _CountingProxyManager(
            proxy_url=proxy,
            proxy_headers=self.proxy_headers(proxy),
            num_pools=self._pool_connections,
            maxsize=self._pool_maxsize,
            block=self._pool_block,
            stats=self._sessionpool_stats,
            **proxy_kwargs,
        )
        self.proxy_manager[proxy] = manager
        return manager

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Response:
        """Send ``request``, with the pool's default timeout if the caller gave none."""
        self._sessionpool_stats.request_sent()
        if timeout is None:
            timeout = self._default_timeout
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
