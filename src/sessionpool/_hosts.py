"""Politeness per host, held by every thread of a pool: requests in flight, rate, delay and pauses.

A pool's :class:`HostGate` stands before every attempt its sessions send
(retries and redirect hops included): the attempt waits for its host's turn,
then goes. A host is an origin, ``scheme://host:port``. Its turn comes when

- fewer than ``per_host_limit`` requests to it are in flight;
- the rate allows one more: ``per_host_rate`` requests a second with a burst
  of ``per_host_burst``, kept as a cell-rate schedule (GCRA: a token bucket
  in which each request reserves its start time, so waiting threads are
  spread out instead of all waking at once);
- ``delay`` seconds have passed since the last start (``per_host_delay``,
  raised by a site's ``Crawl-delay`` and moved by :class:`AutoThrottle`);
- no pause is running: a ``429`` or ``503`` with ``Retry-After`` pauses every
  thread's requests to that host until then (at most ``per_host_pause_max``).

A thread waits only for its own host, under one lock per pool with one
condition per host, and at most ``per_host_wait_max`` seconds in all before
:class:`HostWaitTimeout`. Waits, ``429`` answers and the current delay are
counted per host for :class:`HostStats`; the most recently used hosts are
kept (a crawl over millions of hosts keeps no more than ``_MAX_HOSTS`` of
them, and never forgets one that has a request in flight, a waiter, a pause
or a reserved start to come).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from sessionpool._autothrottle import next_delay
from sessionpool._deadline import Deadline
from sessionpool._errors import HostWaitTimeout, PoolClosed
from sessionpool._retry import retry_after_seconds
from sessionpool._stats import HostStats

if TYPE_CHECKING:
    from sessionpool._config import PoolConfig

__all__ = ["HostGate", "HostTurn", "host_of"]

_MAX_HOSTS = 1024
_RATE_MARGIN = 1.02
_PAUSING_STATUSES = frozenset({429, 503})


def host_of(url: str) -> str:
    """The host ``url`` is sent to, as the gate and its figures name it: ``scheme://host:port``.

    Lower case, and without the credentials or fragment the URL may carry
    (they never reach a figure or a message).
    """
    scheme, _, rest = url.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    return f"{scheme}://{netloc}".lower()


class _Host:
    """The state of one host, read and changed under the gate's lock."""

    __slots__ = (
        "delay",
        "floor",
        "free",
        "in_flight",
        "next_start",
        "paused_until",
        "requests",
        "tat",
        "throttled",
        "wait_seconds",
        "waiters",
        "waits",
    )

    def __init__(self, lock: threading.Lock, delay: float, floor: float) -> None:
        self.free = threading.Condition(lock)  # notified when an attempt in flight ends
        self.in_flight = 0
        self.waiters = 0
        self.next_start = 0.0  # the earliest the next attempt may start (delay)
        self.tat = 0.0  # the rate's theoretical arrival time (GCRA)
        self.paused_until = 0.0
        self.delay = delay
        self.floor = floor
        self.requests = 0
        self.waits = 0
        self.wait_seconds = 0.0
        self.throttled = 0


@dataclass(frozen=True)
class HostTurn:
    """One attempt's turn at its host, given back with :meth:`HostGate.leave`."""

    host: str
    started: float  # time.monotonic() when the attempt was let through


class HostGate:
    """The per-host limits of one pool, and its per-host figures.

    :param config: the pool's configuration (its ``per_host_*`` fields and ``autothrottle``).
    """

    def __init__(self, config: PoolConfig) -> None:
        self._limit = config.per_host_limit
        # Starts are spaced 2 % wider than the rate asks: the server sees each
        # request a little after its start, by a varying delay, and the margin
        # keeps a one-second window at the server within the rate and burst.
        self._interval = _RATE_MARGIN / config.per_host_rate if config.per_host_rate is not None else 0.0
        # GCRA's tolerance: how far ahead of the schedule a burst may start.
        self._tolerance = ((config.per_host_burst or 1) - 1) * self._interval
        self._floor = config.per_host_delay
        self._throttle = config.autothrottle
        self._first_delay = max(self._floor, self._throttle.start_delay) if self._throttle else self._floor
        self._pause_max = config.per_host_pause_max
        self._wait_max = config.per_host_wait_max
        #: Whether an attempt's body is read before its turn ends, so that
        #: "in flight" covers the whole answer (only with ``per_host_limit``).
        self.holds_body = self._limit is not None
        self._lock = threading.Lock()
        self._hosts: OrderedDict[str, _Host] = OrderedDict()
        self._closed = threading.Event()

    # -- an attempt's turn -------------------------------------------------------

    def enter(self, url: str, request_deadline: Deadline | None = None) -> HostTurn:
        """Wait for the turn of ``url``'s host, then take it.

        Raises :class:`HostWaitTimeout` when the turn would come later than
        ``per_host_wait_max`` from now, :class:`DeadlineExceeded` when it
        would come after ``request_deadline`` (the request's own, sooner),
        and :class:`PoolClosed` if the pool is closed meanwhile.
        """
        key = host_of(url)
        began = time.monotonic()
        deadline = None if self._wait_max is None else began + self._wait_max
        if request_deadline is not None and (deadline is None or request_deadline.expires < deadline):
            deadline = request_deadline.expires
            timeout: Callable[[], Exception] = request_deadline.error
        else:
            timeout = functools.partial(self._timeout, key)
        waited = False
        with self._lock:
            host = self._host(key, began)
            host.waiters += 1
            try:
                while self._limit is not None and host.in_flight >= self._limit:
                    waited = True
                    self._wait(host.free, timeout, deadline)
                host.in_flight += 1
            finally:
                host.waiters -= 1
            start = self._reserve(host, began)
        try:
            while True:  # bounded: every pass sleeps until a later time, up to the deadline
                now = time.monotonic()
                if start <= now:
                    with self._lock:
                        if host.paused_until <= now:  # a pause set while sleeping: reserve anew, after it
                            host.requests += 1
                            if waited:
                                host.waits += 1
                                host.wait_seconds += now - began
                            return HostTurn(key, now)
                        start = self._reserve(host, now)
                    continue
                if deadline is not None and start > deadline:
                    raise timeout()
                waited = True
                if self._closed.wait(start - now):
                    raise _closed()
        except BaseException:
            self._give_back(host)
            raise

    def leave(self, turn: HostTurn, response: requests.Response | None) -> None:
        """End ``turn``: the attempt got ``response``, or failed (None).

        A ``429`` or ``503`` with ``Retry-After`` pauses the host; with
        AutoThrottle, the answer's latency moves the host's delay. The turn
        is given back whatever the answer holds: what a server sent can
        change how long the host waits, never whether its slot is freed.
        """
        now = time.monotonic()
        status: int | None = None
        pause: float | None = None
        try:
            status = response.status_code if response is not None else None
            if status in _PAUSING_STATUSES and self._pause_max > 0 and response is not None:
                pause = retry_after_seconds(response)  # total: None for anything it cannot read
        finally:
            self._end_turn(turn, now, status, pause)

    def _end_turn(self, turn: HostTurn, now: float, status: int | None, pause: float | None) -> None:
        with self._lock:
            host = self._hosts.get(turn.host)
            if host is None:  # pragma: no cover - a host with an attempt in flight is never forgotten
                return
            try:
                if status == 429:
                    host.throttled += 1
                if pause is not None:
                    host.paused_until = max(host.paused_until, now + min(pause, self._pause_max))
                if self._throttle is not None:
                    outcome = _outcome(status)
                    host.delay = next_delay(self._throttle, host.delay, now - turn.started, outcome, host.floor)
            finally:
                self._release(host)

    # -- what other parts of sessionpool tell the gate ---------------------------

    def raise_delay(self, url: str, delay: float) -> None:
        """Keep at least ``delay`` seconds between starts to ``url``'s host (a site's ``Crawl-delay``)."""
        with self._lock:
            host = self._host(host_of(url), time.monotonic())
            host.floor = max(host.floor, delay)
            if delay > host.delay:
                host.next_start += delay - host.delay  # counted from the last start, as if it had always held
                host.delay = delay

    def snapshot(self) -> Mapping[str, HostStats]:
        """The figures of every host kept, most recently used last."""
        now = time.monotonic()
        with self._lock:
            return {
                key: HostStats(
                    requests=host.requests,
                    in_flight=host.in_flight,
                    waits=host.waits,
                    wait_seconds=host.wait_seconds,
                    throttled=host.throttled,
                    paused_seconds=max(0.0, host.paused_until - now),
                    delay=host.delay,
                )
                for key, host in self._hosts.items()
            }

    def close(self) -> None:
        """Wake every waiting thread with :class:`PoolClosed`."""
        self._closed.set()
        with self._lock:
            for host in self._hosts.values():
                host.free.notify_all()

    # -- under the lock ------------------------------------------------------------

    def _host(self, key: str, now: float) -> _Host:
        host = self._hosts.get(key)
        if host is not None:
            self._hosts.move_to_end(key)
            return host
        if len(self._hosts) >= _MAX_HOSTS:
            self._forget_idle(now)
        host = self._hosts[key] = _Host(self._lock, self._first_delay, self._floor)
        return host

    def _forget_idle(self, now: float) -> None:
        """Forget the least recently used hosts that nothing holds, down to three quarters of the bound."""
        for key in list(self._hosts):
            if len(self._hosts) < _MAX_HOSTS * 3 // 4:
                return
            host = self._hosts[key]
            if (
                host.in_flight == 0
                and host.waiters == 0
                and max(host.paused_until, host.next_start, host.tat) <= now
                and host.floor <= self._floor
            ):
                del self._hosts[key]

    def _reserve(self, host: _Host, now: float) -> float:
        """The start time of the next attempt to ``host``, reserved: the delay and the rate counted from it."""
        start = max(now, host.paused_until, host.next_start)
        if self._interval:
            tat = max(host.tat, start)
            start = max(start, tat - self._tolerance)
            host.tat = tat + self._interval
        host.next_start = start + host.delay
        return start

    def _wait(self, free: threading.Condition, timeout: Callable[[], Exception], deadline: float | None) -> None:
        if self._closed.is_set():
            raise _closed()
        if deadline is None:
            free.wait()
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise timeout()
        free.wait(left)

    def _give_back(self, host: _Host) -> None:
        with self._lock:
            self._release(host)

    def _release(self, host: _Host) -> None:
        host.in_flight -= 1
        host.free.notify()

    def _timeout(self, key: str) -> HostWaitTimeout:
        return HostWaitTimeout(
            f"a request to {key} waited more than per_host_wait_max={self._wait_max:g} s for its host's turn"
            " (requests in flight, rate, delay or a Retry-After pause); raise per_host_wait_max, or send fewer"
            " requests to one host at a time"
        )


def _closed() -> PoolClosed:
    return PoolClosed("the pool was closed while a request waited for its host's turn")


def _outcome(status: int | None) -> str:
    """``ok``, ``failed`` or ``other``: how AutoThrottle reads an answer (None: the attempt failed)."""
    if status is None or status == 429 or status >= 500:
        return "failed"
    return "ok" if 200 <= status < 300 else "other"
