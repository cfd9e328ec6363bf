"""The transport under every session of a pool: :class:`PoolAdapter`.

Each session mounts its own adapter (closing one session must never clear
connection pools another session still uses), built from the pool's shared
settings. Beyond requests' own :class:`~requests.adapters.HTTPAdapter`, it

- applies the pool's default timeout to every request that passes none,
  including requests made directly on a borrowed session;
- sends a request again when the pool's :class:`~sessionpool.RetryPolicy`
  allows it (:mod:`sessionpool._retry`), paying nothing for that unless the
  first attempt failed;
- counts requests, connections and retries into the pool's statistics, and
  closes connections idle past ``keepalive_expiry`` (:mod:`sessionpool._transport`);
- applies the pool's transport options (``ssl_context``, ``socket_options``,
  ``source_address``) to every connection, direct or through a proxy;
- refuses to send on a session that went back to its pool or was retired,
  and refuses a second thread that sends while another thread's send on the
  same session is under way (:class:`~sessionpool.LeaseError`). A helper
  thread that sends on a session while its holder keeps the lease (a cache
  refreshing in the background, a callback) is delegation, and allowed.

Pickled (with its session), the adapter becomes requests' own
:class:`~requests.adapters.HTTPAdapter` of the same sizes: an unpickled
session is a plain session, belonging to no pool.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response

from sessionpool._compat import pool_sizes, set_pool_sizes
from sessionpool._config import PoolConfig
from sessionpool._errors import LeaseError
from sessionpool._events import EventDispatcher
from sessionpool._record import SessionRecord
from sessionpool._retry import retry
from sessionpool._stats import StatsRecorder
from sessionpool._transport import TransportSettings, managed_pool_manager, managed_proxy_manager

__all__ = ["PoolAdapter"]


class PoolAdapter(HTTPAdapter):
    """The adapter every session of a pool mounts for ``http://`` and ``https://``.

    :param config: the pool's shared configuration (adapter sizes, default
        timeout, keep-alive expiry, retry policy).
    :param stats: the pool's counters, shared by all its sessions' adapters.
    :param events: the pool's listeners; none for an adapter used alone.
    """

    def __init__(self, config: PoolConfig, stats: StatsRecorder, events: EventDispatcher | None = None) -> None:
        # Set before HTTPAdapter.__init__, which builds the pool manager.
        self._events = events if events is not None else EventDispatcher()
        self._settings = TransportSettings(stats=stats, keepalive_expiry=config.keepalive_expiry, events=self._events)
        self._transport_options = _transport_options(config)
        self._ssl_context = config.ssl_context
        self._stats = stats
        self._default_timeout = config.timeout
        self._policy = config.retry
        self._transient_statuses = config.retry.transient_statuses if config.retry.retry_transient else frozenset()
        #: The pool's record of the session this adapter serves, set by the
        #: pool once the session is made; None for an adapter used alone.
        self.record: SessionRecord | None = None
        super().__init__(
            pool_connections=config.pool_connections,
            pool_maxsize=config.pool_maxsize,
            pool_block=config.pool_block,
        )

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        """Build the pool manager for direct connections (called by HTTPAdapter)."""
        set_pool_sizes(self, connections, maxsize, block)  # requests reads them too (SOCKS proxies, unpickling)
        self.poolmanager = managed_pool_manager(
            self._settings,
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            **self._transport_options,
            **pool_kwargs,
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The pool manager for one proxy; SOCKS proxies are left to requests' own (uncounted) manager."""
        proxy_kwargs = {**self._transport_options, **proxy_kwargs}
        if proxy in self.proxy_manager or proxy.lower().startswith("socks"):
            return super().proxy_manager_for(proxy, **proxy_kwargs)
        connections, maxsize, block = pool_sizes(self)
        manager = managed_proxy_manager(
            proxy,
            self._settings,
            proxy_headers=self.proxy_headers(proxy),
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            **proxy_kwargs,
        )
        self.proxy_manager[proxy] = manager
        return manager

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Requests' connection pool key, without the pool's ``ssl_context`` for a call with its own TLS settings."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if self._ssl_context is not None and not self._uses_ssl_context(verify, cert):
            # None removes the manager's ssl_context for this pool key: urllib3
            # makes a context of its own, as for a plain session, rather than
            # change the pool's (turning verification off on a shared context
            # would reach every other connection made with it).
            pool_kwargs["ssl_context"] = None
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Leave trust to the pool's ``ssl_context``, unless the call brought TLS settings of its own."""
        if self._ssl_context is None or not self._uses_ssl_context(verify, cert):
            super().cert_verify(conn, url, verify, cert)
            return
        # No CA file: urllib3 would load it into the shared context. The
        # verify mode is the context's own, which urllib3 sets back on it.
        conn.ca_certs = None
        conn.ca_cert_dir = None
        conn.cert_reqs = self._ssl_context.verify_mode

    @staticmethod
    def _uses_ssl_context(verify: Any, cert: Any) -> bool:
        return verify is True and cert is None

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickled session becomes a plain one: its adapter, requests' own.
        return (_plain_adapter, pool_sizes(self))

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
        record = self.record
        if record is None:
            return self._send(request, stream, timeout, verify, cert, proxies)
        if record.closed or record.holder is None:
            raise LeaseError(_misuse(record))
        # Taken without waiting: a second thread sending on this session
        # while a send is under way is misuse, reported before it sends.
        if not record.sending.acquire(blocking=False):
            raise LeaseError(
                "another thread is sending on this session right now: a session serves one request at a"
                " time; give each thread its own with pool.session(), or use the pool's methods"
            )
        try:
            return self._send(request, stream, timeout, verify, cert, proxies)
        finally:
            record.sending.release()

    def _send(
        self, request: PreparedRequest, stream: bool, timeout: Any, verify: Any, cert: Any, proxies: Any
    ) -> Response:
        record = self.record
        if timeout is None:
            timeout = self._default_timeout

        def send_once() -> Response:
            if record is not None:
                record.requests_sent += 1
            return super(PoolAdapter, self).send(
                request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
            )

        try:
            response = send_once()
        except requests.RequestException as error:
            if not self._policy.active:
                raise
            # retry() raises the error unchanged if the policy does not cover it.
            return retry(self._policy, request, send_once, error, self._stats, self._events)
        if response.status_code in self._transient_statuses:
            return retry(self._policy, request, send_once, response, self._stats, self._events)
        return response


def _transport_options(config: PoolConfig) -> dict[str, Any]:
    """The config's transport options as urllib3's connection pool keywords (only those set)."""
    options: dict[str, Any] = {}
    if config.ssl_context is not None:
        options["ssl_context"] = config.ssl_context
    if config.socket_options is not None:
        options["socket_options"] = list(config.socket_options)
    if config.source_address is not None:
        options["source_address"] = config.source_address
    return options


def _plain_adapter(pool_connections: int, pool_maxsize: int, pool_block: bool) -> HTTPAdapter:
    """Requests' own adapter of these sizes: what a pool's adapter unpickles as."""
    return HTTPAdapter(pool_connections=pool_connections, pool_maxsize=pool_maxsize, pool_block=pool_block)


def _misuse(record: SessionRecord) -> str:
    if record.closed:
        return "this session was retired by its pool; borrow another with pool.session()"
    return (
        "this session was used after its with-block ended: it went back to the pool and may be lent"
        " to another thread; borrow it again with pool.session()"
    )
