"""Proxy rotation: ``PoolConfig.proxy_rotation``, one :class:`ProxyRotation` per pool.

Each new session is bound to the next proxy of the rotation, round-robin
(:meth:`ProxyRotation.bind`), so that its connections stay pooled: a session
keeps sending through one proxy, on the connections it opened there. Every
attempt of a request goes through the session's proxy, unless that proxy is
*benched*: then through the next one that is not (and if every proxy is
benched, through the one whose bench ends first).

A *connect failure through a proxy* is an attempt that never got past the
proxy: the proxy refused the connection or did not answer in time, or
failed its ``CONNECT`` tunnel or its SOCKS handshake (SOCKS failures to
reach the target included: the proxy cannot tell). Nothing reached the
server, so the attempt is sent again at once through the next proxy,
whatever its method, at most once per proxy. ``proxy_failure_limit`` such
failures in a row bench a proxy for ``proxy_cooldown`` seconds; any
response through it (whatever its status) ends the run. A proxy back from
its bench has as many failures in a row as when it was benched, so its
next failure benches it again, unless a response came through first.

The rotation decides the proxy of every ``http://`` and ``https://``
request of the pool's sessions: proxies from the environment
(``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) and a call's
``proxies`` for those schemes are not used. Its state changes under one
lock; the attempts themselves run outside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import requests
from requests.models import Response
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from sessionpool._classify import root_cause
from sessionpool._config import PoolConfig
from sessionpool._hosts import host_of
from sessionpool._stats import ProxyStats
from sessionpool._transport import failed_after_connecting

__all__ = ["ProxyBinding", "ProxyRotation", "is_connect_failure_through_proxy"]


def is_connect_failure_through_proxy(error: BaseException) -> bool:
    """Whether ``error``, raised by an attempt through a proxy, means it never got past the proxy.

    requests' ``ProxyError`` (the proxy refused, timed out, or failed the
    ``CONNECT`` tunnel), and a ``ConnectionError`` or ``ConnectTimeout``
    whose cause is urllib3's ``NewConnectionError`` or ``ConnectTimeoutError``
    (a SOCKS proxy's failures among them); never an error the transport saw
    once the connection was made, when the request may have gone out (urllib3
    calls some of those a ``ProxyError`` too).
    """
    if not isinstance(error, requests.ConnectionError):
        return False
    cause = root_cause(error)
    if failed_after_connecting(cause):
        return False
    return isinstance(error, (requests.exceptions.ProxyError, requests.ConnectTimeout)) or isinstance(
        cause, (NewConnectionError, ConnectTimeoutError)
    )


class _Proxy:
    """One proxy of the rotation and its state, read and changed under the rotation's lock."""

    __slots__ = ("benched", "benched_until", "failures", "failures_in_row", "name", "requests", "routes", "sessions")

    def __init__(self, url: str) -> None:
        #: The proxies an attempt through it passes to requests.
        self.routes = {"http": url, "https": url}
        #: How figures name it: ``scheme://host:port``, without credentials.
        self.name = host_of(url)
        self.requests = 0
        self.failures = 0
        self.failures_in_row = 0
        self.benched = 0
        self.sessions = 0
        #: The clock's time when its bench ends; in the past (or 0) when it is not benched.
        self.benched_until = 0.0


class ProxyRotation:
    """The proxies of one pool's ``proxy_rotation``, which session each goes with, and which are benched.

    :param urls: the proxy URLs, in rotation order (credentials in them as needed).
    :param failure_limit: connect failures in a row that bench a proxy.
    :param cooldown: seconds a benched proxy gets no requests.
    :param clock: where times are read from (``time.monotonic``).
    """

    def __init__(
        self,
        urls: Iterable[str],
        *,
        failure_limit: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._proxies = [_Proxy(url) for url in urls]
        if not self._proxies:
            raise ValueError("a ProxyRotation needs at least one proxy")
        self._failure_limit = failure_limit
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._next_bound = 0

    @classmethod
    def of(cls, config: PoolConfig) -> ProxyRotation | None:
        """The rotation ``config`` asks for, or None if its ``proxy_rotation`` is empty."""
        if not config.proxy_rotation:
            return None
        return cls(config.proxy_rotation, failure_limit=config.proxy_failure_limit, cooldown=config.proxy_cooldown)

    def bind(self) -> ProxyBinding:
        """Bind a new session to the next proxy, round-robin."""
        with self._lock:
            index = self._next_bound
            self._next_bound = (index + 1) % len(self._proxies)
            self._proxies[index].sessions += 1
        return ProxyBinding(self, index)

    def proxies_for(self, bound: int) -> dict[str, str]:
        """The proxies for an attempt of a session bound to proxy ``bound``: ``{"http": p, "https": p}``.

        ``p`` is the bound proxy unless it is benched, else the next one that
        is not; if every proxy is benched, the one whose bench ends first.
        The attempt is counted as that proxy's request.
        """
        return dict(self._proxies[self._take(bound)].routes)

    def send(self, bound: int, attempt: Callable[[dict[str, str]], Response]) -> Response:
        """Send one attempt of a session bound to proxy ``bound``: ``attempt(proxies)``, as :meth:`proxies_for` picks.

        After a connect failure through a proxy (:func:`is_connect_failure_through_proxy`),
        the attempt is sent again through the next proxy that is not benched,
        at most once per proxy; when none is left, the last failure is raised.
        Any other error is raised as it is, and counts neither way.
        """
        index = self._take(bound)
        untried: list[int] | None = None  # made at the first failure: an attempt that goes through needs none
        for _ in range(len(self._proxies)):
            try:
                response = attempt(dict(self._proxies[index].routes))
            except requests.ConnectionError as error:
                if not is_connect_failure_through_proxy(error):
                    raise
                if untried is None:  # the others, in rotation order after the first: each tried at most once
                    untried = [(index + step) % len(self._proxies) for step in range(len(self._proxies) - 1, 0, -1)]
                following = self._failed(index, untried)
                if following is None:
                    raise
                index = following
            else:
                self._answered(index)
                return response
        raise AssertionError("unreachable: every failure takes one untried proxy, or raises")

    def _take(self, bound: int) -> int:
        """The proxy for a new attempt of a session bound to ``bound``, its request counted."""
        with self._lock:
            now = self._clock()
            proxies = self._proxies
            index = bound
            if proxies[bound].benched_until > now:  # looked further only when the bound one is benched
                count = len(proxies)
                order = [(bound + step) % count for step in range(count)]
                index = next(
                    (i for i in order if proxies[i].benched_until <= now),
                    min(order, key=lambda i: proxies[i].benched_until),
                )
            proxies[index].requests += 1
        return index

    def _failed(self, index: int, untried: list[int]) -> int | None:
        """Count a connect failure through ``index`` (benching it at the limit); the next proxy to try, if any.

        The next is the next of ``untried`` (kept last to first) that is not
        benched (taken out of it with those skipped), its request counted.
        """
        with self._lock:
            now = self._clock()
            proxy = self._proxies[index]
            proxy.failures += 1
            proxy.failures_in_row += 1
            if proxy.failures_in_row >= self._failure_limit and proxy.benched_until <= now:
                proxy.benched += 1
                proxy.benched_until = now + self._cooldown
            while untried:
                following = untried.pop()  # kept last-to-first: the next in rotation order is at the end
                if self._proxies[following].benched_until <= now:
                    self._proxies[following].requests += 1
                    return following
        return None

    def _answered(self, index: int) -> None:
        """A response came through ``index``: its run of failures ends, and so does any bench."""
        with self._lock:
            proxy = self._proxies[index]
            proxy.failures_in_row = 0
            proxy.benched_until = min(proxy.benched_until, self._clock())

    def name(self, index: int) -> str:
        """How figures name proxy ``index``: ``scheme://host:port``, without credentials."""
        return self._proxies[index].name

    def snapshot(self) -> dict[str, ProxyStats]:
        """Each proxy's figures now, by name (entries with one name, differing in credentials, combined)."""
        with self._lock:
            now = self._clock()
            by_name: dict[str, list[ProxyStats]] = {}
            for proxy in self._proxies:
                figures = ProxyStats(
                    requests=proxy.requests,
                    failures=proxy.failures,
                    benched=proxy.benched,
                    sessions=proxy.sessions,
                    benched_seconds=max(0.0, proxy.benched_until - now),
                )
                by_name.setdefault(proxy.name, []).append(figures)
        return {name: ProxyStats.combine(figures) for name, figures in by_name.items()}

    def __repr__(self) -> str:
        names = ", ".join(proxy.name for proxy in self._proxies)
        return f"<ProxyRotation [{names}] failure_limit={self._failure_limit} cooldown={self._cooldown:g}>"


@dataclass(frozen=True)
class ProxyBinding:
    """A session's place in its pool's rotation: the proxy it was bound to."""

    rotation: ProxyRotation
    index: int

    @property
    def proxy(self) -> str:
        """The bound proxy, as figures name it (``scheme://host:port``, without credentials)."""
        return self.rotation.name(self.index)

    def send(self, attempt: Callable[[dict[str, str]], Response]) -> Response:
        """Send one attempt through the rotation (see :meth:`ProxyRotation.send`)."""
        return self.rotation.send(self.index, attempt)
