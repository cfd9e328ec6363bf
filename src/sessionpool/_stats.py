"""What a pool has done: live counters, and the :class:`PoolStats` snapshot of them."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

from sessionpool._frozendict import FrozenDict
from sessionpool._policy import READ, STALE, TRANSIENT, RetryReason

__all__ = ["HostStats", "PoolStats", "ProxyStats", "StatsRecorder"]


@dataclass(frozen=True, kw_only=True)
class HostStats:
    """What a pool did with one host (an origin, ``scheme://host:port``), in ``PoolStats.hosts``.

    :param requests: attempts sent to the host (retries and redirect hops count).
    :param in_flight: attempts sent and not yet answered at the snapshot.
    :param waits: attempts that waited for their turn (limit, rate, delay or pause).
    :param wait_seconds: the time those attempts waited, in all.
    :param throttled: ``429 Too Many Requests`` answers the host gave.
    :param paused_seconds: how much longer a ``Retry-After`` pause holds the host (0: none).
    :param delay: seconds kept between the starts of two attempts to the
        host now: ``per_host_delay``, a ``Crawl-delay``, or AutoThrottle's.
    """

    requests: int
    in_flight: int
    waits: int
    wait_seconds: float
    throttled: int
    paused_seconds: float
    delay: float

    @classmethod
    def combine(cls, stats: list[HostStats]) -> HostStats:
        """One host's figures from several pools: sums, and the longest pause and delay."""
        return cls(
            requests=sum(s.requests for s in stats),
            in_flight=sum(s.in_flight for s in stats),
            waits=sum(s.waits for s in stats),
            wait_seconds=sum(s.wait_seconds for s in stats),
            throttled=sum(s.throttled for s in stats),
            paused_seconds=max(s.paused_seconds for s in stats),
            delay=max(s.delay for s in stats),
        )


@dataclass(frozen=True, kw_only=True)
class ProxyStats:
    """What a pool did with one proxy of its ``proxy_rotation`` (``scheme://host:port``), in ``PoolStats.proxies``.

    :param requests: attempts sent through the proxy (a connect failure's
        replay through the next proxy counts there).
    :param failures: connect failures through it: the proxy refused, timed
        out, or failed its handshake (SOCKS) or tunnel (``CONNECT``).
    :param benched: times it was benched, after ``proxy_failure_limit``
        connect failures in a row.
    :param sessions: sessions the pool bound to it.
    :param benched_seconds: how much longer it is benched at the snapshot (0: not benched).
    """

    requests: int
    failures: int
    benched: int
    sessions: int
    benched_seconds: float

    @classmethod
    def combine(cls, stats: list[ProxyStats]) -> ProxyStats:
        """One proxy's figures from several pools (or entries): sums, and the longest bench left."""
        return cls(
            requests=sum(s.requests for s in stats),
            failures=sum(s.failures for s in stats),
            benched=sum(s.benched for s in stats),
            sessions=sum(s.sessions for s in stats),
            benched_seconds=max(s.benched_seconds for s in stats),
        )


@dataclass(frozen=True, kw_only=True)
class PoolStats:
    """A consistent snapshot of a pool's counters, taken by ``pool.stats()``.

    All counters run from the creation of the pool; a snapshot never changes.

    :param sessions_created: sessions the pool has made.
    :param sessions_closed: sessions the pool has closed (with their connections).
    :param sessions_replaced: sessions a :class:`~sessionpool.QueuePool` took
        back and replaced by a new one from the factory, keeping their
        connections, because a reset could not be proven to undo what the
        borrower may have changed (a session class with state of its own).
    :param sessions_in_use: sessions lent out at the moment of the snapshot.
    :param checkouts: times a session was lent, by ``session()`` or by a
        request method of the pool.
    :param checkout_timeouts: checkouts that gave up with :class:`PoolTimeout`.
    :param checkout_wait_seconds_max: the longest a checkout waited for a
        session to come back, in seconds.
    :param requests: HTTP requests the pool's sessions sent (or tried to send:
        a request whose connection could not be made counts), redirects,
        retries and requests made directly on a borrowed session included.
    :param requests_reused: those of them that went out on a connection that
        was already open.
    :param connections_opened: TCP connections (with their TLS handshakes)
        the pool's sessions opened. Compare it with ``requests``: this is how
        to see that connections are reused.
    :param stale_retries: requests sent again because the server had closed
        the reused keep-alive connection they went out on.
    :param transient_retries: requests sent again after a connect failure or
        a transient status (only with ``RetryPolicy(retry_transient=True)``).
    :param read_retries: requests sent again after their connection timed
        out or broke once they had been sent (only with
        ``RetryPolicy(retry_read=True)``).
    :param unsafe_not_retried: failures that could have been retried but
        were not, because the request was not safe to send twice.
    :param idle_connections_discarded: idle connections closed instead of
        reused: idle past ``keepalive_expiry``, or as old as one found dead.
    :param hosts: :class:`~sessionpool.HostStats` by host (``scheme://host:port``)
        for the hosts the pool sent to most recently (at most 1,024): requests,
        in flight, waits for a host's turn, ``429`` answers, pause and delay.
    :param proxies: :class:`~sessionpool.ProxyStats` by proxy of the pool's
        ``proxy_rotation`` (``scheme://host:port``, without credentials):
        requests, connect failures, benchings, sessions bound, bench left.
        Empty without a rotation.
    """

    sessions_created: int
    sessions_closed: int
    sessions_replaced: int
    sessions_in_use: int
    checkouts: int
    checkout_timeouts: int
    checkout_wait_seconds_max: float
    requests: int
    requests_reused: int
    connections_opened: int
    stale_retries: int
    transient_retries: int
    read_retries: int
    unsafe_not_retried: int
    idle_connections_discarded: int
    hosts: Mapping[str, HostStats] = field(default_factory=FrozenDict)
    proxies: Mapping[str, ProxyStats] = field(default_factory=FrozenDict)

    @classmethod
    def combine(cls, snapshots: Iterable[PoolStats]) -> PoolStats:
        """The statistics of several pools as one: the sum of every counter, and the longest checkout wait.

        For pools in worker processes or on cluster workers, whose snapshots
        come back to one place; no snapshot: every counter 0.
        """
        total = {name: 0 for name in _COUNTERS}
        wait_max = 0.0
        hosts: dict[str, list[HostStats]] = {}
        proxies: dict[str, list[ProxyStats]] = {}
        for snapshot in snapshots:
            for name in _COUNTERS:
                total[name] += getattr(snapshot, name)
            wait_max = max(wait_max, snapshot.checkout_wait_seconds_max)
            for host, stats in snapshot.hosts.items():
                hosts.setdefault(host, []).append(stats)
            for proxy, figures in snapshot.proxies.items():
                proxies.setdefault(proxy, []).append(figures)
        combined = FrozenDict({host: HostStats.combine(stats) for host, stats in hosts.items()})
        by_proxy = FrozenDict({proxy: ProxyStats.combine(figures) for proxy, figures in proxies.items()})
        return cls(checkout_wait_seconds_max=wait_max, hosts=combined, proxies=by_proxy, **total)

    @property
    def sessions_open(self) -> int:
        """Sessions made and not yet closed."""
        return self.sessions_created - self.sessions_closed

    @property
    def reuse_ratio(self) -> float:
        """The share of requests that went out on a connection already open.

        1.0 means every request reused a connection; 0.0 means every request
        opened its own (as plain ``requests.get`` does), or could not connect
        at all. 0.0 before any request.
        """
        if self.requests == 0:
            return 0.0
        return self.requests_reused / self.requests


#: Every field of :class:`PoolStats` that counts something, so adds up across pools.
_COUNTERS = tuple(f.name for f in fields(PoolStats) if f.name not in ("checkout_wait_seconds_max", "hosts", "proxies"))


class StatsRecorder:
    """The live counters of one pool, changed only through its methods, each under the recorder's lock.

    The pool reports what it does (sessions made, lent, returned, closed);
    sessions' adapters report requests and connections from any thread. Each
    method changes what belongs together at once, so a :meth:`snapshot` is
    always consistent. The recorder's lock is its own: the pool's lock may be
    held when a method is called, never the other way round.
    """

    __slots__ = (
        "_lock",
        "checkout_timeouts",
        "checkout_wait_seconds_max",
        "checkouts",
        "connections_opened",
        "idle_connections_discarded",
        "read_retries",
        "requests",
        "requests_reused",
        "sessions_closed",
        "sessions_created",
        "sessions_in_use",
        "sessions_replaced",
        "stale_retries",
        "transient_retries",
        "unsafe_not_retried",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sessions_created = 0
        self.sessions_closed = 0
        self.sessions_replaced = 0
        self.sessions_in_use = 0
        self.checkouts = 0
        self.checkout_timeouts = 0
        self.checkout_wait_seconds_max = 0.0
        self.requests = 0
        self.requests_reused = 0
        self.connections_opened = 0
        self.stale_retries = 0
        self.transient_retries = 0
        self.read_retries = 0
        self.unsafe_not_retried = 0
        self.idle_connections_discarded = 0

    # -- what the pool reports -------------------------------------------------

    def session_created(self) -> None:
        """Count one session made."""
        with self._lock:
            self.sessions_created += 1

    def session_replaced(self) -> None:
        """Count one returned session replaced by a new one from the factory."""
        with self._lock:
            self.sessions_replaced += 1

    def sessions_retired(self, count: int) -> None:
        """Count ``count`` sessions closed."""
        with self._lock:
            self.sessions_closed += count

    def checked_out(self, *, first_lease: bool) -> None:
        """Count one checkout; ``first_lease``: the session was not lent before it (now one more in use)."""
        with self._lock:
            self.checkouts += 1
            if first_lease:
                self.sessions_in_use += 1

    def released(self) -> None:
        """Count one session whose last lease ended: one fewer in use."""
        with self._lock:
            self.sessions_in_use -= 1

    def checkout_waited(self, seconds: float, *, timed_out: bool) -> None:
        """Count a checkout that waited ``seconds`` for a session, and whether it gave up."""
        with self._lock:
            self.checkout_wait_seconds_max = max(self.checkout_wait_seconds_max, seconds)
            if timed_out:
                self.checkout_timeouts += 1

    # -- what the sessions' adapters report ------------------------------------

    def request_sent(self, *, reused: bool = False) -> None:
        """Count one HTTP request handed to a connection (``reused``: one already open)."""
        with self._lock:
            self.requests += 1
            if reused:
                self.requests_reused += 1

    def connection_opened(self) -> None:
        """Count one new TCP connection."""
        with self._lock:
            self.connections_opened += 1

    def retried(self, reason: RetryReason) -> None:
        """Count one request sent again, for ``reason`` (:data:`STALE`, :data:`TRANSIENT` or :data:`READ`)."""
        with self._lock:
            if reason == STALE:
                self.stale_retries += 1
            elif reason == TRANSIENT:
                self.transient_retries += 1
            elif reason == READ:
                self.read_retries += 1
            else:
                raise ValueError(f"unknown retry reason {reason!r}: expected {STALE!r}, {TRANSIENT!r} or {READ!r}")

    def not_retried_unsafe(self) -> None:
        """Count one failure left to the caller because its request was not safe to send twice."""
        with self._lock:
            self.unsafe_not_retried += 1

    def connections_discarded(self, count: int) -> None:
        """Count idle connections closed instead of reused."""
        with self._lock:
            self.idle_connections_discarded += count

    def snapshot(self) -> PoolStats:
        """The counters as they are now, read under the lock."""
        with self._lock:
            return PoolStats(
                sessions_created=self.sessions_created,
                sessions_closed=self.sessions_closed,
                sessions_replaced=self.sessions_replaced,
                sessions_in_use=self.sessions_in_use,
                checkouts=self.checkouts,
                checkout_timeouts=self.checkout_timeouts,
                checkout_wait_seconds_max=self.checkout_wait_seconds_max,
                requests=self.requests,
                requests_reused=self.requests_reused,
                connections_opened=self.connections_opened,
                stale_retries=self.stale_retries,
                transient_retries=self.transient_retries,
                read_retries=self.read_retries,
                unsafe_not_retried=self.unsafe_not_retried,
                idle_connections_discarded=self.idle_connections_discarded,
            )
