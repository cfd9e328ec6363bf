"""A bounded set of sessions that threads borrow and return: :class:`QueuePool`."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import requests

from sessionpool._base import Pool
from sessionpool._baseline import SessionBaseline
from sessionpool._config import PoolConfig
from sessionpool._config_types import PoolConfigFields
from sessionpool._errors import LeaseError, PoolTimeout
from sessionpool._record import SessionRecord
from sessionpool._validate import check_bool, check_callable, check_int, check_seconds

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["DEFAULT_CHECKOUT_TIMEOUT", "DEFAULT_SIZE", "QueuePool"]

log = logging.getLogger("sessionpool")

#: Sessions a QueuePool makes at most, unless told otherwise.
DEFAULT_SIZE = 10
#: Seconds a checkout waits for a session to come back before PoolTimeout.
DEFAULT_CHECKOUT_TIMEOUT = 30.0


class _Waiter:
    """A checkout waiting for a session, in the order it arrived.

    Whoever returns a session hands it straight to the oldest waiter (or, if a
    session was closed, hands over the right to make one: ``record`` stays
    ``None``), so a thread that arrives later cannot take it first and no
    waiter starves while others are served.
    """

    __slots__ = ("record", "signal")

    def __init__(self) -> None:
        self.record: SessionRecord | None = None
        # Held until the waiter is served: releasing it wakes the waiter.
        # Looked up when made, not when imported: under gevent patching done
        # after sessionpool was imported, the lock is gevent's, and a waiter
        # lets other greenlets run.
        self.signal = threading.Lock()
        self.signal.acquire()


class QueuePool(Pool):
    """At most ``size`` sessions, lent to one thread at a time, most recently returned first.

    The right pool when threads come and go (a thread per task, an executor
    that grows and shrinks) or when the number of connections to a server
    must stay bounded whatever the number of threads. A checkout takes the
    session returned last (its connections are the warmest), makes a new one
    while fewer than ``size`` exist, or else waits up to ``checkout_timeout``
    seconds for one to come back, in arrival order, then raises
    :class:`~sessionpool.PoolTimeout`.

    :param config: the configuration of every session; ``None`` for the defaults.
    :param size: the most sessions that exist at once (an int >= 1).
    :param checkout_timeout: seconds a checkout waits for a session (>= 0;
        0 fails at once). Not to be confused with the request ``timeout`` of
        :class:`PoolConfig`.
    :param reset_on_return: no state of one borrower reaches the next,
        credentials above all. A returned plain :class:`requests.Session` is
        put back as it was configured (cookies, headers, auth, params, hooks,
        proxies, verify, cert, stream, max_redirects, trust_env). A session
        holding anything more (a subclass's own state, such as an
        ``OAuth2Session`` token or a cache; an attribute or adapter a
        borrower added) is replaced by a new one from the factory, which
        keeps the pool's adapter and so its open connections. ``False``
        keeps whatever borrowers leave behind.
    :param reset_session: for session classes with state of their own:
        called with a returned session after the pool restored the plain
        session's state, it must undo whatever else a borrower may have
        changed (for example ``session.token = {}``). Given it, the pool
        lends such sessions again instead of replacing them (a session with
        an adapter a borrower mounted is still replaced). If it raises, the
        session is retired.
    :param fields: :class:`PoolConfig` fields, applied over ``config``.

    >>> with QueuePool(size=4) as pool:                  # doctest: +SKIP
    ...     with pool.session() as session:
    ...         session.get("https://example.org/")
    """

    def __init__(
        self,
        config: PoolConfig | None = None,
        *,
        size: int = DEFAULT_SIZE,
        checkout_timeout: float = DEFAULT_CHECKOUT_TIMEOUT,
        reset_on_return: bool = True,
        reset_session: Callable[[requests.Session], None] | None = None,
        **fields: Unpack[PoolConfigFields],
    ) -> None:
        self._size = check_int("QueuePool.size", size, minimum=1)
        self._checkout_timeout = check_seconds("QueuePool.checkout_timeout", checkout_timeout, allow_zero=True)
        self._reset_on_return = check_bool("QueuePool.reset_on_return", reset_on_return)
        if reset_session is not None:
            check_callable("QueuePool.reset_session", reset_session)
            if not reset_on_return:
                raise ValueError("QueuePool.reset_session is called on return only with reset_on_return=True")
        self._reset_session = reset_session
        super().__init__(config, fields)

    def _reset_strategy(self) -> None:
        self._idle: list[SessionRecord] = []  # a stack: the last returned is lent first
        self._waiters: deque[_Waiter] = deque()
        self._slots_taken = 0  # sessions that exist or are being made; never above size

    @property
    def size(self) -> int:
        """The most sessions this pool makes at once."""
        return self._size

    @property
    def checkout_timeout(self) -> float:
        """Seconds a checkout waits for a session before :class:`PoolTimeout`."""
        return self._checkout_timeout

    def _describe(self) -> str:
        return f"size={self._size}"

    def _on_created(self, record: SessionRecord) -> None:
        if self._reset_on_return:
            # The state a returned session is put back to, taken before anyone used it.
            record.baseline = SessionBaseline.capture(record.session)

    def _on_released(self, record: SessionRecord) -> None:
        record.holder = None  # free for any thread: a send on it now is a use after return

    def _held_by_this_thread(self) -> int:
        me = threading.get_ident()
        return sum(1 for record in self._records if record.holder == me)

    def _do_get(self) -> SessionRecord:
        while True:
            record = self._take()
            baseline = record.baseline
            if not record.needs_reset or baseline is None:
                return record
            # Reset by the next borrower, outside the lock, rather than by
            # the last one on its way out: a returned session is available
            # at once, instead of being nobody's while it is reset.
            session = record.session
            # A reset restores a plain session's state; state it does not know
            # of (unless the user's hook resets it) or a changed adapter table
            # cannot be undone, so such a session is replaced.
            resettable = baseline.keeps_adapters(session) and (
                self._reset_session is not None or baseline.holds_only_plain_state(session)
            )
            try:
                if not resettable:
                    self._replace_session(record)
                else:
                    baseline.restore(session, shared_cookies=self._cookies)
                    if self._reset_session is not None:
                        self._reset_session(session)
            except Exception:
                # The session cannot be put back, nor a new one made in its
                # place: retire it (the slot is freed) rather than lend it
                # again, and say so.
                log.warning("could not reset a returned session; retiring it instead", exc_info=True)
                self._retire([record])
            else:
                record.needs_reset = False
                return record

    def _take(self) -> SessionRecord:
        """An idle session, a new one in a free slot, or the next one returned (waiting for it)."""
        waiter: _Waiter | None = None
        deadlock = False
        with self._lock:
            closed = self._closed
            if closed:
                pass
            elif self._idle:
                return self._idle.pop()
            elif self._slots_taken < self._size:
                self._slots_taken += 1
            elif self._held_by_this_thread() >= self._size:
                deadlock = True
            else:
                waiter = _Waiter()
                self._waiters.append(waiter)
        if closed:
            raise self._closed_error()
        if deadlock:
            raise LeaseError(
                f"this thread already holds all {self._size} sessions of the QueuePool: a nested checkout"
                " would wait for itself; return one first, or make the pool larger",
                pool=repr(self),
            )
        if waiter is None:
            return self._create_in_slot()
        return self._wait(waiter)

    def _wait(self, waiter: _Waiter) -> SessionRecord:
        started = time.monotonic()
        served = waiter.signal.acquire(timeout=self._checkout_timeout)
        waited = time.monotonic() - started
        with self._lock:
            if not served:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    served = True  # served between the timeout and taking the lock
            self._stats.checkout_waited(waited, timed_out=not served)
        if not served:
            raise PoolTimeout(
                f"no session of the QueuePool (size={self._size}) came free within"
                f" checkout_timeout={self._checkout_timeout:g} s",
                pool=repr(self),
                waited=waited,
                checkout_timeout=self._checkout_timeout,
            )
        if waiter.record is not None:
            return waiter.record
        if self._closed:
            raise self._closed_error()
        return self._create_in_slot()

    def _create_in_slot(self) -> SessionRecord:
        """Make a session in a slot this thread has taken; give the slot up if that fails."""
        try:
            return self._create()
        except BaseException:
            with self._lock:
                self._free_slot()
            raise

    def _free_slot(self) -> None:
        """A session slot is free: hand it to the oldest waiter, if any. Under the lock."""
        if self._waiters:
            self._waiters.popleft().signal.release()
        else:
            self._slots_taken -= 1

    def _do_return(self, record: SessionRecord) -> bool:
        record.needs_reset = record.baseline is not None  # captured when the pool resets on return
        with self._lock:
            if self._closed:
                return False
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.record = record
                waiter.signal.release()
            else:
                self._idle.append(record)
            return True

    def _on_retired(self, records: list[SessionRecord]) -> None:
        for record in records:
            if record in self._idle:
                self._idle.remove(record)
            self._free_slot()

    def _on_close(self) -> None:
        self._idle.clear()
        # Wake every waiter: each finds the pool closed and raises PoolClosed.
        while self._waiters:
            self._waiters.popleft().signal.release()
