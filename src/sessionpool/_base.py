"""The template every pool is built on: :class:`Pool`.

The base class owns the configuration, its lock, the statistics, the
lifecycle and the request methods. A pool strategy fills in the hooks of
:class:`~sessionpool._strategy.Strategy` and nothing else.

Words: a *lease* is one lending of a session, from checkout to checkin
(:meth:`Pool.session` returns a :class:`Lease`; :meth:`Pool.request` takes
one for a single call); a *record* is what the pool keeps beside each
session (:class:`~sessionpool._record.SessionRecord`); a session is
*retired* when the pool closes it for good.

Lock discipline: the pool's own state changes under the pool's lock; the
statistics change through :class:`~sessionpool._stats.StatsRecorder`'s
methods, under the recorder's lock (taken inside the pool's, never the
other way round); sessions are made and closed outside both.

Lifecycle: a session is retired (the pool's adapters on it closed, with
every connection the pool opened, and a new session made at the next
checkout) when the pool closes, when it is invalidated, when it is past
``max_session_age`` or ``max_session_requests``, and (thread-local pools)
when its thread ends. Retiring closes only what the pool owns: the pool
never calls the session's own ``close()``, which for some session classes
also closes what their factory shared between sessions (a cache backend).
After ``os.fork()`` a pool in the child starts empty:
it never uses, and never closes in a way the parent could notice, a session
or connection it inherited.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import weakref
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import requests

from sessionpool._adapter import PoolAdapter
from sessionpool._baseline import SessionBaseline
from sessionpool._config import PoolConfig
from sessionpool._connections import OpenConnections, open_connections
from sessionpool._cookies import SharedCookieJar
from sessionpool._environment import EnvironmentCache
from sessionpool._errors import PoolClosed
from sessionpool._events import EventDispatcher, PoolListener
from sessionpool._factory import adapter_class, make_session
from sessionpool._fastpath import PreparedCache
from sessionpool._fork import empty_in_forked_child
from sessionpool._frozendict import FrozenDict
from sessionpool._hosts import HostGate
from sessionpool._lease import Lease
from sessionpool._proxies import ProxyRotation
from sessionpool._record import SessionRecord
from sessionpool._request_methods import RequestMethods
from sessionpool._routes import RouteCache
from sessionpool._stats import PoolStats, StatsRecorder
from sessionpool._strategy import Strategy
from sessionpool._validate import check_seconds

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Pool"]


class Pool(RequestMethods, Strategy):
    """Lends :class:`requests.Session` objects made from one :class:`PoolConfig`.

    The type both pools share, for annotations: a function that takes any
    pool takes a ``sessionpool.Pool``. Not instantiated directly: use
    :class:`~sessionpool.ThreadLocalPool` or :class:`~sessionpool.QueuePool`.
    """

    def __init__(self, config: PoolConfig | None, fields: Mapping[str, Any]) -> None:
        self._config = PoolConfig.build(config, fields)
        adapter_class(self._config)  # the transport loads with the pool (curl_cffi now), not in its first request
        self._cookies = SharedCookieJar() if self._config.share_cookies else None
        self._environment = EnvironmentCache()
        self._prepared = PreparedCache()
        self._routes = RouteCache()
        self._events = EventDispatcher()  # listeners stay across a fork
        self._start_empty()
        empty_in_forked_child(self)

    def _start_empty(self) -> None:
        """Set up the state of a pool that has no session yet (at birth, and in a forked child)."""
        self._stats = StatsRecorder()
        self._hosts = HostGate(self._config)
        self._proxies = ProxyRotation.of(self._config)
        self._lock = threading.Lock()
        self._closed = False
        self._generation = 0
        # Every session this pool made and has not closed, whichever thread
        # holds it: close() and stats() must see them all.
        self._records: set[SessionRecord] = set()
        # A pool dropped without close() still closes its sessions.
        self._finalizer = weakref.finalize(self, _close_sessions, self._records)
        self._reset_strategy()

    def _after_fork_in_child(self) -> None:
        """Forget every session inherited from the parent; the child makes its own.

        The inherited sessions are neither used nor closed here: their
        sockets are released by the transport without a shutdown (see
        :mod:`sessionpool._transport`), and a lock another thread of the
        parent held may never be released in the child.
        """
        self._finalizer.detach()
        closed = self._closed
        self._start_empty()
        self._closed = closed

    # -- the public interface ----------------------------------------------

    @property
    def config(self) -> PoolConfig:
        """The configuration every session of this pool is made from."""
        return self._config

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    @property
    def cookies(self) -> SharedCookieJar | None:
        """The cookie jar every session shares (``share_cookies=True``), or None."""
        return self._cookies

    def add_listener(self, listener: PoolListener) -> None:
        """Tell ``listener`` of this pool's events from now on (see :class:`~sessionpool.PoolListener`)."""
        self._events.add(listener)

    def remove_listener(self, listener: PoolListener) -> None:
        """Stop telling ``listener``; raises :class:`ValueError` if it is not a listener of this pool."""
        self._events.remove(listener)

    def invalidate(self) -> None:
        """Retire every session the pool has now; later checkouts get new ones.

        Idle sessions are closed at once, sessions lent out when they come
        back or are next reached. What the pool read from the environment
        (proxies, CA bundle, .netrc) is read again too. Use it when something
        every session holds went bad, such as credentials that were rotated.
        """
        self._environment.clear()
        self._prepared.clear()
        self._routes.clear()
        with self._lock:
            self._generation += 1
            idle = [record for record in self._records if record.leases == 0]
        self._retire(idle)

    def session(self) -> AbstractContextManager[requests.Session]:
        """Lend a session for a ``with`` block; it comes back when the block ends.

        The session is the caller's alone until then: use it like any
        :class:`requests.Session`. It comes back also when the block raises.

        Raises :class:`PoolClosed` after :meth:`close`, and (in a
        :class:`QueuePool`) :class:`PoolTimeout` when no session came free in time.
        """
        return Lease(self)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request on a session lent for just this call.

        Takes the arguments of :meth:`requests.Session.request`. Without a
        ``timeout``, the config's default timeout applies.
        """
        record = self._checkout()
        try:
            return record.session.request(method, url, **kwargs)
        finally:
            self._checkin(record)

    def stats(self) -> PoolStats:
        """A snapshot of this pool's counters, with its figures per host and per proxy of its rotation."""
        proxies = FrozenDict(self._proxies.snapshot() if self._proxies is not None else {})
        return dataclasses.replace(self._stats.snapshot(), hosts=FrozenDict(self._hosts.snapshot()), proxies=proxies)

    def set_host_delay(self, url: str, seconds: float) -> None:
        """Keep at least ``seconds`` between the starts of two requests to ``url``'s host, from now on.

        For a site's ``Crawl-delay``: it raises the host's delay and its
        floor (which AutoThrottle never goes below), and never lowers them.
        The host is ``url``'s ``scheme://host:port``.
        """
        self._hosts.raise_delay(url, check_seconds("seconds", seconds, allow_zero=True))

    def open_connections(self) -> list[OpenConnections]:
        """The connections this pool's sessions hold open now, per origin: idle, or active (a request in flight)."""
        return open_connections(self._stats)

    def close(self) -> None:
        """Close every session and its connections; the pool cannot be used again.

        Sessions lent out at this moment are closed as they come back.
        Calling it again does nothing; any other use of the pool afterwards
        raises :class:`PoolClosed`.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._on_close()
            idle = [record for record in self._records if record.leases == 0]
        self._hosts.close()  # threads waiting for a host's turn give up with PoolClosed
        self._retire(idle)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        stats = self.stats()
        settings = self._describe()
        return (
            f"<{type(self).__name__}{' ' + settings if settings else ''}"
            f" sessions_open={stats.sessions_open} in_use={stats.sessions_in_use}"
            f" requests={stats.requests} connections_opened={stats.connections_opened}"
            f" reuse_ratio={stats.reuse_ratio:.2f}{' closed' if self._closed else ''}>"
        )

    # -- the template's own steps ------------------------------------------

    def _checkout(self) -> SessionRecord:
        if self._closed:
            raise self._closed_error()
        while True:
            record = self._do_get()
            with self._lock:
                # Checked again under the lock: close() closes every session
                # with no lease, so a lease must not be taken once it ran.
                closed = self._closed
                worn = not closed and record.leases == 0 and self._worn_out(record)
                if not closed and not worn:
                    record.leases += 1
                    record.checkouts += 1
                    if record.leases == 1:
                        record.holder = threading.get_ident()
                    self._stats.checked_out(first_lease=record.leases == 1)
            if closed:
                # Raised outside the lock: the error's message reads the stats.
                raise self._closed_error()
            if not worn:
                if self._events:
                    self._events.session_checked_out(record.session)
                return record
            self._retire([record])

    def _worn_out(self, record: SessionRecord) -> bool:
        """Whether a session must be retired rather than lent (under the lock)."""
        if record.closed or record.generation != self._generation:
            return True
        limit = self._config.max_session_requests
        if limit is not None and record.requests_sent >= limit:
            return True
        return record.retire_at is not None and self._config.clock() >= record.retire_at

    def _checkin(self, record: SessionRecord) -> None:
        if self._events:
            self._events.session_returned(record.session)
        with self._lock:
            if record not in self._records:
                return  # retired while lent, or inherited across a fork: nothing to give back
            record.leases -= 1
            if record.leases:
                return
            self._stats.released()
            self._on_released(record)
            worn = self._worn_out(record)
        if worn or not self._do_return(record):
            self._retire([record])

    def _create(self) -> SessionRecord:
        """Make a session from the config and start tracking it."""
        config = self._config
        session, adapter = self._make_session()
        record = SessionRecord(session, adapter, created=config.clock())
        self._on_created(record)
        if config.max_session_age is not None:
            # Up to 10 % earlier, at random: sessions made together (at
            # start-up, after an invalidation) do not all expire together.
            record.retire_at = record.created + config.max_session_age * random.uniform(0.9, 1.0)
        adapter.record = record
        if self._proxies is not None:
            adapter.proxy_binding = self._proxies.bind()
        with self._lock:
            created = not self._closed
            if created:
                record.generation = self._generation
                self._records.add(record)
                self._stats.session_created()
        if not created:
            adapter.close()
            raise self._closed_error()
        if self._events:
            self._events.session_created(session)
        return record

    def _make_session(self, adapter: PoolAdapter | None = None) -> tuple[requests.Session, PoolAdapter]:
        """A session from the config, on the pool's shared state, mounting ``adapter`` or a new one."""
        return make_session(
            self._config,
            self._stats,
            self._events,
            self._cookies,
            self._environment,
            adapter,
            self._prepared,
            self._routes,
            self._hosts,
        )

    def _replace_session(self, record: SessionRecord) -> None:
        """Give ``record`` a new session from the factory, keeping the pool's adapter and its connections.

        For a returned session whose state a reset cannot be proven to undo:
        nothing of the old session reaches the next borrower but the pool's
        own adapter, which holds connections and no per-borrower state. The
        old session is dropped, not closed (see the module docstring).
        """
        old = record.session
        session, _ = self._make_session(record.adapter)
        record.session = session
        if record.baseline is not None:
            record.baseline = SessionBaseline.capture(session)
        self._stats.session_replaced()
        if self._events:
            self._events.session_retired(old)
            self._events.session_created(session)

    def _retire(self, records: Iterable[SessionRecord]) -> None:
        """Close sessions (each once, whoever asks) and stop tracking them."""
        with self._lock:
            to_close = [record for record in records if record in self._records]
            for record in to_close:
                record.closed = True
                self._records.discard(record)
            self._stats.sessions_retired(len(to_close))
            if to_close:
                self._on_retired(to_close)
        for record in to_close:
            # The pool's adapter only: the session's own close() may close what
            # its factory shared with other sessions (see the module docstring).
            record.adapter.close()
            if self._events:
                self._events.session_retired(record.session)

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError(
            f"a {type(self).__name__} cannot be pickled: its sessions and connections belong to this process."
            " Send pool.config to the other process and make a pool from it there"
            f" ({type(self).__name__}(config))"
        )

    def _closed_error(self) -> PoolClosed:
        return PoolClosed(f"{type(self).__name__} is closed; make a new pool to send more requests", pool=repr(self))


def _close_sessions(records: set[SessionRecord]) -> None:
    """Close the pool's adapters (and connections) of a pool that was dropped without close()."""
    for record in list(records):
        record.adapter.close()
