"""The pool adapter of the curl transport: :class:`CurlAdapter`, one attempt on the wire through libcurl.

Everything above the wire is :class:`~sessionpool._adapter.PoolAdapter`'s:
the lease check, the default timeout, the deadline, the host's turn, the
proxy rotation, the replays, the redirect-body bound. This class sends one
attempt of a prepared request on one of its session's lines
(:mod:`sessionpool._curl.line`) and builds requests' response from it.

**Go's replay rule.** libcurl sends a request again by itself when the
connection it reused dies before any byte of the answer arrived (uploads
included; up to 5 times, and no option forbids it). That is the stale
replay, and the pool allows it only for a request its
:class:`~sessionpool.RetryPolicy` would replay after a stale connection:
``retry_stale`` on, and a request safe to send twice
(:func:`~sessionpool._classify.retry_refusal`). Any other request goes out
on a connection made for it (``CURLOPT_FRESH_CONNECT``), where libcurl
never resends: a POST reaches the server at most once. The connection is
kept afterwards, for the requests that may reuse it.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

from curl_cffi import CurlShare
from requests.models import PreparedRequest, Response
from urllib3.exceptions import InsecureRequestWarning
from urllib3.util import Timeout

from sessionpool._adapter import PoolAdapter
from sessionpool._classify import retry_refusal
from sessionpool._config import PoolConfig
from sessionpool._config_checks import impersonation_target
from sessionpool._connections import Origin
from sessionpool._curl.errors import Failure, as_requests_error
from sessionpool._curl.line import Line, Lines
from sessionpool._curl.request import TLSFiles, Wire, chosen_proxy, invalid_proxy, set_request
from sessionpool._curl.response import build_response, no_head_error, parse_head, premature_end_error
from sessionpool._curl.transfer import StreamedBody, drive
from sessionpool._deadline import current as current_deadline
from sessionpool._environment import origin
from sessionpool._events import EventDispatcher
from sessionpool._hosts import HostGate
from sessionpool._routes import RouteCache
from sessionpool._stats import StatsRecorder

__all__ = ["CurlAdapter"]


class CurlAdapter(PoolAdapter):
    """The adapter every session of a pool with ``transport="curl"`` mounts (see the module docstring)."""

    def __init__(
        self,
        config: PoolConfig,
        stats: StatsRecorder,
        events: EventDispatcher | None = None,
        routes: RouteCache | None = None,
        hosts: HostGate | None = None,
    ) -> None:
        super().__init__(config, stats, events, routes, hosts)
        self._share = _share_of(self._routes)
        self._wire = Wire(
            http2=config.http2,
            impersonate=None if config.impersonate is None else _target(config.impersonate),
            keepalive_expiry=config.keepalive_expiry,
            source_address=config.source_address,
        )
        self._expiry = config.keepalive_expiry
        max_connections = config.pool_connections * config.pool_maxsize
        share = self._share._curl_share
        self._lines = Lines(lambda: Line(share, max_connections, stats), keep=config.pool_maxsize)
        self._tls: dict[tuple[Any, Any], TLSFiles] = {}
        self._last_used: dict[str, float] = {}
        self._named: dict[tuple[str, str | None], Origin] = {}

    def close(self) -> None:
        """Close the session's connections: its lines, and whatever urllib3 pools requests made."""
        self._lines.close()
        super().close()

    def _send_on_wire(
        self, request: PreparedRequest, stream: bool, timeout: Any, verify: Any, cert: Any, proxies: Any
    ) -> Response:
        connect_timeout, read_timeout = _split_timeout(timeout, request)
        url = _url_of(request)
        proxy = chosen_proxy(request, proxies)
        if proxy is not None:
            invalid = invalid_proxy(proxy, request)
            if invalid is not None:
                raise invalid
        tls = None
        if url[:6].lower() == "https:" or (proxy is not None and proxy[:6].lower() == "https:"):
            tls = self._tls_files(verify, cert)
        where = origin(url)
        if verify is False and url[:6].lower() == "https:":
            _warn_unverified(where)
        deadline = current_deadline()
        expires = None if deadline is None else deadline.expires
        fresh = not self._may_reuse(request) or self._expired(where)
        warm = not fresh and where in self._last_used
        named = self._connection_origin(where, proxy)
        line = self._lines.take()
        try:
            set_request(
                line.options, self._wire, request, url,
                connect_timeout=connect_timeout,
                total_ms=None if expires is None else int((expires - time.monotonic()) * 1000) + 1,
                proxy=proxy, tls=tls, fresh=fresh,
            )  # fmt: skip
            line.start(named, warm=warm)
            drive(line, read_timeout, expires, head_only=stream)
        except BaseException:
            line.abort()
            self._lines.give_back(line)
            raise
        outcome = line.outcome
        made = line.connections_made()
        if outcome.error is not None:  # the request's own body failed: its error, as requests raises it
            self._lines.give_back(line)
            raise outcome.error
        if outcome.ended and outcome.code:
            self._last_used.pop(where, None)  # its connection may be gone: the next transfer may make one
            # A streamed answer whose body failed after its head is handed back, as urllib3's is:
            # reading the body raises the failure, after what arrived before it.
            if not (stream and line.head_done):
                connected = line.connected()
                self._count(named, made, reused=connected and made == 0)  # tried to send counts, as on urllib3
                failure = Failure(
                    outcome.code, line.message(), proxied=proxy is not None, connected=connected,
                    answered=bool(line.head), head_done=line.head_done, read_timeout=outcome.read_timeout,
                )  # fmt: skip
                self._lines.give_back(line)
                raise as_requests_error(failure, request)
        self._count(named, made, reused=made == 0)
        head = parse_head(line.head)
        if head is None:
            line.abort()
            self._lines.give_back(line)
            raise no_head_error(request)
        if outcome.ended and not line.head_done:  # the connection closed before the head's blank line
            ended = premature_end_error(head, request)
            if ended is not None:
                self._lines.give_back(line)
                raise ended
        if not stream:
            body = line.take(None)
            self._last_used[where] = time.monotonic()
            self._lines.give_back(line)
            return build_response(self, request, head, body, _ended)
        body_file = StreamedBody(self._lines, self._last_used, line, read_timeout, expires, where)
        return build_response(self, request, head, body_file.file, body_file.ended)

    def _may_reuse(self, request: PreparedRequest) -> bool:
        """Whether ``request`` may go out on a connection already open: the policy would replay it if that one died."""
        policy = self._policy
        if not policy.retry_stale or policy.stale_attempts <= 0:
            return False
        if request.body is None and request.method in policy.retry_methods:
            return True
        return retry_refusal(request, policy) is None

    def _expired(self, where: str) -> bool:
        """Whether this session's connection to ``where`` has been idle longer than ``keepalive_expiry``."""
        if self._expiry is None:
            return False
        last = self._last_used.get(where)
        return last is not None and time.monotonic() - last > self._expiry

    def _count(self, named: Origin, made: int, *, reused: bool) -> None:
        stats = self._stats
        for _ in range(made):
            stats.connection_opened()
            if self._events:
                self._events.connection_opened(*named)
        stats.request_sent(reused=reused)

    def _connection_origin(self, where: str, proxy: str | None) -> Origin:
        """The origin the connection of a request to ``where`` serves, as urllib3's are named (see OpenConnections).

        For plain http through an HTTP or HTTPS proxy, the proxy; otherwise the target (a ``CONNECT`` or SOCKS
        tunnel is a connection to it).
        """
        key = (where, proxy)
        named = self._named.get(key)
        if named is None:
            if proxy is not None and where[:5].lower() == "http:" and proxy[:4].lower() == "http":
                where = origin(proxy)
            named = self._named[key] = _split_origin(where)
        return named

    def _tls_files(self, verify: Any, cert: Any) -> TLSFiles:
        key = (verify, cert)
        try:
            files = self._tls.get(key)
        except TypeError:  # an unhashable verify or cert (a list): worked out for this request only
            return TLSFiles(verify, cert)
        if files is None:
            files = self._tls[key] = TLSFiles(verify, cert)
        return files


def _url_of(request: PreparedRequest) -> str:
    url: object = request.url
    if isinstance(url, bytes):
        return url.decode("utf-8")
    return url if isinstance(url, str) else ""


def _ended() -> bool:
    return True


def _split_timeout(timeout: Any, request: PreparedRequest) -> tuple[float | None, float | None]:
    """``(connect, read)`` of a timeout as requests takes it (a number, a pair, None, or urllib3's ``Timeout``).

    Plain numbers above 0 (or None) are taken as they are; anything else is
    checked as requests' adapter checks it, by urllib3's ``Timeout``, which
    raises its ``ValueError`` ("must be an int, float or None").
    """
    pair = type(timeout) is tuple and len(timeout) == 2
    connect, read = timeout if pair else (timeout, timeout)
    if _plain(connect) and _plain(read):
        return connect, read
    if isinstance(timeout, tuple):
        try:
            connect, read = timeout
        except ValueError:
            raise ValueError(
                f"Invalid timeout {timeout}. Pass a (connect, read) timeout tuple, "
                f"or a single float to set both timeouts to the same value."
            ) from None
        checked = Timeout(connect=connect, read=read)
    elif isinstance(timeout, Timeout):
        checked = timeout
    else:
        checked = Timeout(connect=timeout, read=timeout)
    connect_timeout, read_timeout = checked.connect_timeout, checked.read_timeout
    return (
        connect_timeout if isinstance(connect_timeout, (int, float)) else None,
        read_timeout if isinstance(read_timeout, (int, float)) else None,
    )


def _plain(value: Any) -> bool:
    """Whether ``value`` is a timeout urllib3 takes as it is: None, or an int or float above 0 (not a bool)."""
    return value is None or (type(value) in (int, float) and value > 0)


def _target(name: str) -> bytes:
    target = impersonation_target(name)
    if target is None:  # pragma: no cover - PoolConfig checked it
        raise ValueError(f"unknown browser to impersonate: {name!r}")
    return target.encode("ascii")


def _share_of(routes: RouteCache) -> Any:
    """The pool's share handle (the TLS session cache), one per process.

    Not the DNS cache: curl_cffi's share locks are Python callbacks, and
    libcurl takes the DNS lock on every transfer (the TLS session lock only
    when it makes a connection), each time taking the GIL back in the middle
    of ``curl_multi_perform``. Each line's multi handle keeps a DNS cache of
    its own. Made again in a forked child: the parent's may have been locked by one of
    its threads at the fork. Its libcurl handle is curl_cffi's ``_curl_share``.
    """
    held = routes.transport_state
    if held is None or held[0] != os.getpid():
        held = routes.transport_state = (os.getpid(), CurlShare(connect=False, dns=False, ssl_session=True))
    return held[1]


def _split_origin(where: str) -> Origin:
    """``scheme://host:port`` as ``(scheme, host, port)``: lower case, no user (never a secret), IPv6 unbracketed."""
    scheme, _, rest = where.partition("://")
    authority = rest.rpartition("@")[2]
    host, _, port = authority.rpartition(":")
    if not host or not port.isdigit():
        host, port = authority, "443" if scheme.lower() == "https" else "80"
    return (scheme.lower(), host.strip("[]").lower(), int(port))


def _warn_unverified(where: str) -> None:
    """Warn of an https request to ``where`` sent without verifying the server, as urllib3 does for every one."""
    host = _split_origin(where)[1]
    warnings.warn(
        f"Unverified HTTPS request is being made to host '{host}'. Adding certificate verification is strongly"
        " advised. See: https://urllib3.readthedocs.io/en/latest/advanced-usage.html#tls-warnings",
        InsecureRequestWarning,
        stacklevel=2,
    )
