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
  refreshing in the background, a callback) is delegation, and allowed;
- takes requests' answers about an origin (pool key, TLS settings) from the
  pool's :class:`~sessionpool._routes.RouteCache` rather than work them out
  for every request (:mod:`sessionpool._routes`).

Pickled (with its session), the adapter becomes requests' own
:class:`~requests.adapters.HTTPAdapter` of the same sizes: an unpickled
session is a plain session, belonging to no pool.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response
from requests.utils import get_auth_from_url

from sessionpool._compat import pool_sizes, set_content, set_pool_sizes
from sessionpool._config import PoolConfig
from sessionpool._deadline import Deadline, clamp_timeout, guard_stream, within
from sessionpool._deadline import current as current_deadline
from sessionpool._errors import LeaseError
from sessionpool._events import EventDispatcher
from sessionpool._hosts import HostGate
from sessionpool._proxies import ProxyBinding
from sessionpool._record import SessionRecord
from sessionpool._retry import retry
from sessionpool._routes import RouteCache, RoutedAdapter
from sessionpool._socks import managed_socks_manager
from sessionpool._stats import StatsRecorder
from sessionpool._transport import TransportSettings, managed_pool_manager, managed_proxy_manager

__all__ = ["PoolAdapter"]


class PoolAdapter(RoutedAdapter):
    """The adapter every session of a pool mounts for ``http://`` and ``https://``.

    :param config: the pool's shared configuration (adapter sizes, default
        timeout, keep-alive expiry, retry policy).
    :param stats: the pool's counters, shared by all its sessions' adapters.
    :param events: the pool's listeners; none for an adapter used alone.
    :param routes: the pool's :class:`RouteCache`; an adapter used alone keeps its own.
    :param hosts: the pool's :class:`HostGate`, which every attempt waits on
        for its host's turn; none for an adapter used alone.
    """

    #: The session's proxy in the pool's ``proxy_rotation``, set by the pool
    #: when it makes the session; None: the proxies requests picks.
    proxy_binding: ProxyBinding | None = None

    def __init__(
        self,
        config: PoolConfig,
        stats: StatsRecorder,
        events: EventDispatcher | None = None,
        routes: RouteCache | None = None,
        hosts: HostGate | None = None,
    ) -> None:
        # Set before HTTPAdapter.__init__, which builds the pool manager.
        self._events = events if events is not None else EventDispatcher()
        self._settings = TransportSettings(stats=stats, keepalive_expiry=config.keepalive_expiry, events=self._events)
        self._transport_options = _transport_options(config)
        self._stats = stats
        self._default_timeout = config.timeout
        self._deadline = config.deadline
        self._policy = config.retry
        self._transient_statuses = config.retry.transient_statuses if config.retry.retry_transient else frozenset()
        self._hosts = hosts
        #: The pool's record of the session this adapter serves, set by the
        #: pool once the session is made; None for an adapter used alone.
        self.record: SessionRecord | None = None
        super().__init__(
            routes=routes,
            ssl_context=config.ssl_context,
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
        """The pool manager for one proxy (HTTP, HTTPS or SOCKS), made at its first use, counted like direct ones.

        Built as requests builds its own: a SOCKS proxy's credentials come
        from its URL; an HTTP proxy's go in its ``Proxy-Authorization``
        header. Without PySocks, a SOCKS proxy raises
        :class:`requests.exceptions.InvalidSchema` naming the ``socks`` extra.
        """
        manager = self.proxy_manager.get(proxy)
        if manager is not None:
            return manager
        proxy_kwargs = {**self._transport_options, **proxy_kwargs}
        connections, maxsize, block = pool_sizes(self)
        sizes = {"num_pools": connections, "maxsize": maxsize, "block": block}
        if proxy.lower().startswith("socks"):
            username, password = get_auth_from_url(proxy)
            manager = managed_socks_manager(
                proxy, self._settings, username=username, password=password, **sizes, **proxy_kwargs
            )
        else:
            headers = self.proxy_headers(proxy)
            manager = managed_proxy_manager(proxy, self._settings, proxy_headers=headers, **sizes, **proxy_kwargs)
        self.proxy_manager[proxy] = manager
        return manager

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

    def _send_through_rotation(
        self, request: PreparedRequest, stream: bool, timeout: Any, verify: Any, cert: Any, proxies: Any
    ) -> Response:
        """One attempt, as requests' adapter sends it; with a proxy rotation, through the session's proxy.

        The rotation picks the proxy (``proxies`` for http and https are not
        used), learns the outcome, and after a connect failure through a
        proxy sends the attempt again through the next (:mod:`sessionpool._proxies`).
        """
        binding = self.proxy_binding
        if binding is None:
            return self._send_on_wire(request, stream, timeout, verify, cert, proxies)
        return binding.send(lambda chosen: self._send_on_wire(request, stream, timeout, verify, cert, chosen))

    def _send_on_wire(
        self, request: PreparedRequest, stream: bool, timeout: Any, verify: Any, cert: Any, proxies: Any
    ) -> Response:
        """One attempt on the wire: the transport's one job, below everything the pool adds.

        The seam between the pool and a transport: the timeout is the
        attempt's (the default applied, cut to the deadline), ``proxies``
        the ones to choose from (the rotation's, if any); the answer is
        requests' :class:`~requests.Response` as ``HTTPAdapter.send`` makes
        it (its body read by requests afterwards, unless ``stream``), and a
        failure is requests' exception for it, with urllib3's layers under
        it (what :mod:`sessionpool._classify` reads).
        Here: urllib3's, through requests' own ``HTTPAdapter.send``; the curl
        transport's adapter sends through libcurl (:mod:`sessionpool._curl`).
        """
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)

    def _send(
        self, request: PreparedRequest, stream: bool, timeout: Any, verify: Any, cert: Any, proxies: Any
    ) -> Response:
        if timeout is None:
            timeout = self._default_timeout
        if self._deadline is None:
            return self._send_attempts(request, stream, timeout, verify, cert, proxies, None)
        # A call on a pooled session opened its deadline already (redirect hops
        # and replays join it); an adapter used alone opens one per send.
        deadline = current_deadline()
        if deadline is None:
            with within(self._deadline) as deadline:
                response = self._send_attempts(request, stream, timeout, verify, cert, proxies, deadline)
        else:
            response = self._send_attempts(request, stream, timeout, verify, cert, proxies, deadline)
        if stream and deadline is not None:
            guard_stream(response, deadline)  # the body is read after the call, under the same deadline
        return response

    def _send_attempts(
        self,
        request: PreparedRequest,
        stream: bool,
        timeout: Any,
        verify: Any,
        cert: Any,
        proxies: Any,
        deadline: Deadline | None,
    ) -> Response:
        record = self.record
        hosts = self._hosts

        def send_once() -> Response:
            if record is not None:
                record.requests_sent += 1
            if hosts is None:
                attempt_timeout = timeout if deadline is None else _attempt_under(deadline, timeout)
                return self._send_through_rotation(request, stream, attempt_timeout, verify, cert, proxies)
            turn = hosts.enter(request.url, deadline)  # type: ignore[arg-type]
            try:
                attempt_timeout = timeout if deadline is None else _attempt_under(deadline, timeout)
                response = self._send_through_rotation(request, stream, attempt_timeout, verify, cert, proxies)
                if hosts.holds_body and not stream:
                    response.content  # noqa: B018 - the body is part of the host's turn
            except BaseException:
                hosts.leave(turn, None)
                raise
            hosts.leave(turn, response)
            return response

        try:
            response = send_once()
        except requests.RequestException as error:
            if not self._policy.active:
                raise
            # retry() raises the error unchanged if the policy does not cover it.
            response = retry(self._policy, request, send_once, error, self._stats, self._events)
        else:
            if response.status_code in self._transient_statuses:
                response = retry(self._policy, request, send_once, response, self._stats, self._events)
        if response.is_redirect:  # whichever attempt answered: requests will read its body whole
            _bound_redirect_body(response)
        return response


def _attempt_under(deadline: Deadline, timeout: Any) -> Any:
    """The timeout of an attempt about to be sent under ``deadline``, which counts it; raises once it passed."""
    attempt_timeout = clamp_timeout(timeout, deadline)
    deadline.attempts += 1
    return attempt_timeout


#: The most of a redirect's body that is read: requests reads it whole to free
#: the connection, and nobody needs it; a server could send gigabytes.
REDIRECT_BODY_MAX = 1024 * 1024


def _bound_redirect_body(response: Response) -> None:
    """Read a redirect's body now if it is long or of unknown length, at most :data:`REDIRECT_BODY_MAX` of it.

    A body that goes on past the bound is cut there and its connection
    closed. One shorter than the bound, by its ``Content-Length``, is left
    for requests to read as it always does.
    """
    length = response.headers.get("Content-Length", "")
    if length.isascii() and length.isdigit() and len(length) < 16 and int(length) <= REDIRECT_BODY_MAX:
        return
    chunks: list[bytes] = []
    read = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            chunks.append(chunk)
            read += len(chunk)
            if read > REDIRECT_BODY_MAX:
                response.close()  # the rest is never read: the connection goes
                break
    except requests.RequestException:
        response.close()
    set_content(response, b"".join(chunks)[:REDIRECT_BODY_MAX])


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
