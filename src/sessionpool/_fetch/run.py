"""The threads of one :class:`~sessionpool.Fetch`: the input thread and the worker threads, over one pool.

A :class:`Run` holds only what the threads share, never the
:class:`~sessionpool.Fetch` itself, so a fetch that its caller drops can be
collected, and its finalizer can stop the threads and close the pool.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from sessionpool._base import Pool
from sessionpool._fetch.backend import Entry, InputEnd, Taken
from sessionpool._fetch.hostlimit import HostLimiter
from sessionpool._fetch.intake import Intake
from sessionpool._fetch.one import fetch_one, invalid_url_result
from sessionpool._fetch.options import FetchOptions
from sessionpool._fetch.result import FetchResult
from sessionpool._stats import PoolStats

__all__ = ["Reorder", "Run"]


class Reorder:
    """Puts results back in input order: each is held until every URL taken before it came back or was skipped."""

    def __init__(self) -> None:
        self._held: dict[int, FetchResult | None] = {}
        self._next = 0

    def push(self, seq: int, result: FetchResult | None) -> list[FetchResult]:
        """Take the outcome of the ``seq``-th URL (None: never sent); the results now due, in order."""
        self._held[seq] = result
        due: list[FetchResult] = []
        while self._next in self._held:
            held = self._held.pop(self._next)
            if held is not None:
                due.append(held)
            self._next += 1
        return due

    def flush(self) -> list[FetchResult]:
        """Every result still held, in input order, past the gaps that will never fill."""
        due = [self._held[seq] for seq in sorted(self._held)]
        self._held.clear()
        return [result for result in due if result is not None]


class Run:
    """The input thread and the worker threads of one fetch, and the state they share.

    ``stopping`` and ``abandoning`` are plain attributes rather than events,
    so that a signal handler can set them without taking a lock.
    """

    def __init__(self, items: Iterator[tuple[int, str]], pool: Pool, options: FetchOptions, *, close_pool: bool):
        self.pool = pool
        self.results: queue.SimpleQueue[Entry] = queue.SimpleQueue()
        self.stopping = False  # take no more URLs, send no more requests
        self.abandoning = False  # do not wait for the requests in flight
        #: At most twice as many URLs as threads taken and not yet received by the caller.
        self._intake = Intake(items, 2 * options.threads, self.results, self.stopped)
        self._options = options
        self._close_pool = close_pool
        self._limiter = HostLimiter(options.per_host) if options.per_host is not None else None
        self._lock = threading.RLock()  # reentrant: the finalizer may run finish() from any thread
        self._pending: set[Future[FetchResult | None]] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._finished = False

    def stopped(self) -> bool:
        """Whether the run is stopping (for the per-host limiter's waits)."""
        return self.stopping

    def taken_so_far(self) -> int:
        """URLs taken from the input; final once ``stopping`` is set or the input ended."""
        return self._intake.taken_so_far()

    def in_flight(self) -> int:
        """URLs handed to a worker thread whose outcome is not known yet."""
        with self._lock:
            return len(self._pending)

    def stats(self) -> PoolStats:
        """The pool's counters."""
        return self.pool.stats()

    def received(self, entry: Taken) -> None:
        """The caller took ``entry``: give its place back to the input thread."""
        self._intake.received(entry)

    def start(self) -> None:
        """Start the worker threads and the input thread, unless the run was stopped already."""
        with self._lock:
            if self.stopping or self._finished:
                self.results.put(InputEnd())
                return
            self._executor = ThreadPoolExecutor(self._options.threads, thread_name_prefix="sessionpool-fetch")
        self._intake.start(self._hand_out, at_end=lambda: None, name="sessionpool-fetch-input")

    def cancel_queued(self) -> None:
        """Cancel the URLs handed to the workers and not started yet (each comes back as never sent)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.cancel()

    def finish(self, *, wait: bool) -> None:
        """Stop everything, waiting for the worker threads if ``wait``; close the pool if the run owns it."""
        self.stopping = True
        with self._lock:
            if self._finished:
                return
            self._finished = True
            executor = self._executor
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)
        if self._close_pool:
            self.pool.close()

    # -- the input thread ---------------------------------------------------

    def _hand_out(self, seq: int, index: int, url: str) -> None:
        """Hand the ``seq``-th URL, which holds a place, to a worker thread (or resolve it here)."""
        invalid = invalid_url_result(index, url)
        if invalid is not None:
            self.results.put(Taken(seq, invalid, roomed=True))
            return
        with self._lock:
            if self._executor is None or self._finished:
                future = None
            else:
                future = self._executor.submit(self._work, index, url)
                self._pending.add(future)
        if future is None:
            self.results.put(Taken(seq, None, roomed=True))
            return
        future.add_done_callback(partial(self._done, seq, index, url))

    # -- the worker threads -------------------------------------------------

    def _work(self, index: int, url: str) -> FetchResult | None:
        if self.stopping:
            return None
        if self._limiter is None:
            return fetch_one(self.pool, url, self._options, index=index)
        with self._limiter.turn(url, self.stopped) as allowed:
            if not allowed or self.stopping:
                return None
            return fetch_one(self.pool, url, self._options, index=index)

    def _done(self, seq: int, index: int, url: str, future: Future[FetchResult | None]) -> None:
        with self._lock:
            self._pending.discard(future)
        if future.cancelled():
            self.results.put(Taken(seq, None, roomed=True))
            return
        error = future.exception()  # fetch_one turns every Exception into a result: this is something worse
        result = future.result() if error is None else FetchResult.failed(index, url, error)
        self.results.put(Taken(seq, result, roomed=True))
