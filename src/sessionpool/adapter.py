"""The transport under every session of a pool: :class:`PoolAdapter`.

Each session mounts its own adapter (closing one session must never clear
connection pools another session still uses), built from the pool's shared
settings. Beyond requests' own :class:`~requests.adapters.HTTPAdapter`, it

- applies the pool's default timeout to every request that passes none,
  including requests made directly on a borrowed session;
- sends a request again when the pool's :class:`~sessionpool.RetryPolicy`
  allows it (:mod:`sessionpool.replay`), paying nothing for that unless the
  first attempt failed;
- counts requests, connections and replays into the pool's statistics, and
  closes connections idle past ``keepalive_expiry`` (:mod:`sessionpool.transport`);
- refuses to send for a thread that does not hold its session's lease
  (:class:`~sessionpool.LeaseError`), which is how a session used after its
  ``with`` block, or from the wrong thread, is caught.
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response

from sessionpool.config import PoolConfig
from sessionpool.errors import LeaseError
from sessionpool.record import SessionRecord
from sessionpool.replay import replay
from sessionpool.stats import StatsRecorder
from sessionpool.transport import TransportSettings, managed_pool_manager, managed_proxy_manager

__all__ = ["PoolAdapter"]


class PoolAdapter(HTTPAdapter):
    """The adapter every session of a pool mounts for ``http://`` and ``https://``.

    :param config: the pool's shared configuration (adapter sizes, default
        timeout, keep-alive expiry, retry policy).
    :param stats: the pool's counters, shared by all its sessions' adapters.
    """

    def __init__(self, config: PoolConfig, stats: StatsRecorder) -> None:
        # Set before HTTPAdapter.__init__, which builds the pool manager.
        self._settings = TransportSettings(stats=stats, keepalive_expiry=config.keepalive_expiry)
        self._stats = stats
        self._default_timeout = config.timeout
        self._policy = config.retry
        self._transient_statuses = config.retry.transient_statuses if config.retry.retry_transient else frozenset()
        #: The pool's record of the session this adapter serves, set by the
        #: pool once the session is made; None for an adapter used alone.
        self.lease: SessionRecord | None = None
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
        self.poolmanager = managed_pool_manager(
            self._settings, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The pool manager for one HTTP(S) proxy; SOCKS proxies are left to requests, unmanaged."""
        if proxy in self.proxy_manager or proxy.lower().startswith("socks"):
            return super().proxy_manager_for(proxy, **proxy_kwargs)
        manager = managed_proxy_manager(
            proxy,
            self._settings,
            proxy_headers=self.proxy_headers(proxy),
            num_pools=self._pool_connections,
            maxsize=self._pool_maxsize,
            block=self._pool_block,
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
        """Send ``request`` (with the pool's default timeout if the caller gave none), again if the policy allows."""
        lease = self.lease
        if lease is not None and (lease.holder != threading.get_ident() or lease.closed):
            raise LeaseError(_misuse(lease))
        if timeout is None:
            timeout = self._default_timeout

        def send_once() -> Response:
            if lease is not None:
                lease.requests_sent += 1
            return super(PoolAdapter, self).send(
                request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
            )

        try:
            response = send_once()
        except requests.ConnectionError as error:  # read timeouts are never sent again
            if not self._policy.active:
                raise
            return replay(self._policy, request, send_once, error, self._stats)
        if response.status_code in self._transient_statuses:
            return replay(self._policy, request, send_once, response, self._stats)
        return response


def _misuse(lease: SessionRecord) -> str:
    if lease.closed:
        return "this session was closed by its pool; borrow another with pool.session()"
    if lease.holder is None:
        return (
            "this session was used after its with-block ended: it went back to the pool and may be lent"
            " to another thread; borrow it again with pool.session()"
        )
    return "this session belongs to another thread; use pool.session() or the pool's methods in this thread"
