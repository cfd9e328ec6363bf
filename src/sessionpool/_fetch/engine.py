"""The fetch engine: URLs in, result records out, through a pool, from worker threads.

::

    (index, url) pairs ──► input thread ──► worker threads ──► results queue ──► Fetch.__next__
                           takes a pair      fetch_one()       (completion       (the caller's
                           when there is     per URL, within   order)            thread: input
                           room, checks it   the per-host                        order if asked)
                                             limit

At most twice as many URLs as there are threads are taken from the input
and not yet handed to the caller, so a long input is never queued whole and
a caller that stops reading stops the fetching too. Every URL taken comes
out as exactly one :class:`~sessionpool.FetchResult`, unless the fetch was
cancelled before it was sent (counted in :attr:`Fetch.not_sent`) or while
it was in flight past the grace (counted in :attr:`Fetch.abandoned`).

:meth:`Fetch.cancel` only sets flags, so it may be called from a signal
handler; the threads look at them at least every :data:`_POLL` seconds.
"""

from __future__ import annotations

import collections
import queue
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sessionpool._base import Pool
from sessionpool._config import PoolConfig
from sessionpool._errors import FetchError
from sessionpool._fetch.backend import Backend, Entry, InputEnd, InputFailed
from sessionpool._fetch.options import FetchOptions, grace_seconds
from sessionpool._fetch.result import FetchResult
from sessionpool._fetch.run import Reorder, Run
from sessionpool._fetch.savedir import SaveDir
from sessionpool._queuepool import QueuePool
from sessionpool._stats import PoolStats
from sessionpool._threadlocal import ThreadLocalPool
from sessionpool._validate import describe

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Fetch", "check_options", "check_urls", "make_pool"]

#: How long the caller's thread waits for a result at a time before looking
#: at the cancel flags and the grace deadline again.
_POLL = 0.1


def make_pool(config: PoolConfig, options: FetchOptions) -> Pool:
    """The pool a fetch fetches through, of ``options.pool_kind``, made from ``config``."""
    if options.pool_kind == "queue":
        return QueuePool(config, size=options.pool_size or options.threads)
    return ThreadLocalPool(config)


class Fetch:
    """A fetch under way: an iterator of :class:`FetchResult`, and a context manager that stops it.

    Made by :func:`fetch_all`, or directly to fetch through a pool of one's
    own, or over ``(index, url)`` pairs that are a part of a larger input
    (each result carries its pair's index). The work starts at the first
    ``next()``; iterate from one thread.

    :param items: ``(index, url)`` pairs, read lazily from a thread of the fetch.
    :param pool: the pool every request goes through.
    :param options: how to fetch (``pool_kind`` and ``pool_size`` are not
        used: the pool is given; ``processes`` must be 1: the pool is in
        this process); None: the defaults.
    :param close_pool: close ``pool`` when the fetch ends.
    :raises OSError: when ``options.save_dir`` cannot be made a directory.
    :raises ValueError: for ``options.processes`` above 1.

    Leaving the ``with`` block (or :meth:`close`) stops at once; to stop
    and still get every result, :meth:`cancel` and keep iterating. If the
    input itself raises, the URLs taken before are still fetched and their
    results yielded, then the error is raised.
    """

    def __init__(
        self,
        items: Iterable[tuple[int, str]],
        pool: Pool,
        options: FetchOptions | None = None,
        *,
        close_pool: bool = False,
    ) -> None:
        if not isinstance(pool, Pool):
            raise TypeError(f"pool must be a sessionpool Pool, got {describe(pool)}")
        options = check_options(options)
        if options.processes != 1:
            raise ValueError(
                f"FetchOptions.processes must be 1 for a Fetch over a pool of this process, got {options.processes};"
                " fetch_all() starts worker processes, each with a pool of its own"
            )
        if options.save_dir is not None:
            SaveDir(Path(options.save_dir))  # fail here, not once per body
        grace = options.grace if options.grace is not None else grace_seconds(pool.config.timeout)
        self._setup(Run(iter(items), pool, options, close_pool=close_pool), options, grace)

    @classmethod
    def _over(cls, backend: Backend, options: FetchOptions, *, grace: float) -> Fetch:
        """A fetch whose URLs are fetched by ``backend`` (worker processes, a cluster), which it owns."""
        fetch = cls.__new__(cls)
        fetch._setup(backend, options, grace)
        return fetch

    def _setup(self, backend: Backend, options: FetchOptions, grace: float) -> None:
        self._run = backend
        self._grace = grace
        self._ready: collections.deque[FetchResult] = collections.deque()
        self._reorder = Reorder() if options.ordered else None
        self._started = self._ended = self._cancelled = False
        self._input_ended = False
        self._deadline: float | None = None
        self._received = self._not_sent = self._abandoned = 0
        self._failure: BaseException | None = None
        # A fetch dropped unfinished stops its threads and closes its pool.
        self._finalizer = weakref.finalize(self, self._run.finish, wait=False)

    @property
    def pool(self) -> Pool:
        """The pool the requests go through.

        :raises FetchError: when the fetch runs in worker processes or on a
            cluster, where each worker has a pool of its own (:meth:`stats`
            adds up their counters).
        """
        if isinstance(self._run, Run):
            return self._run.pool
        raise FetchError(
            "this fetch runs its requests in worker processes or on a cluster, each worker with a pool of its own;"
            " Fetch.stats() adds up their counters"
        )

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` (or :meth:`close`) was called."""
        return self._cancelled

    @property
    def not_sent(self) -> int:
        """URLs taken from the input but never sent, because the fetch was cancelled (final once it ended)."""
        return self._not_sent

    @property
    def abandoned(self) -> int:
        """Requests still in flight that were given up on at the end (after the grace, or a second cancel)."""
        return self._abandoned

    def stats(self) -> PoolStats:
        """A snapshot of the pool's counters, or the sum of every worker's (still readable once the fetch ended)."""
        return self._run.stats()

    def cancel(self, *, wait: bool = True) -> None:
        """Stop taking URLs from the input; results of requests that come back are still yielded.

        Requests in flight are waited for, for at most the grace
        (:attr:`FetchOptions.grace`); URLs taken but not yet sent are not
        sent. A second call, or ``wait=False``, gives up on the requests in
        flight at once: iteration ends with what came back, and
        :attr:`abandoned` says how many were given up on. Returns at once;
        safe to call from another thread or a signal handler.
        """
        if self._cancelled or not wait:
            self._run.abandoning = True
        self._cancelled = True
        self._run.stopping = True

    def close(self) -> None:
        """Stop at once, dropping the results not yet yielded; close the pool if the fetch owns it."""
        if not self._ended:
            self.cancel(wait=False)
            self._end(give_up=True)
        self._ready.clear()
        self._failure = None

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> FetchResult:
        if not self._started:
            self._started = True
            self._run.start()
        while not self._ready:
            if self._ended:
                failure, self._failure = self._failure, None
                if failure is not None:
                    raise failure
                raise StopIteration
            self._step()
        return self._ready.popleft()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _step(self) -> None:
        """Take one entry off the results queue, or end the fetch if it is over."""
        run = self._run
        if run.stopping and self._deadline is None:
            self._deadline = time.monotonic() + self._grace
            run.cancel_queued()
        if run.abandoning or (self._deadline is not None and time.monotonic() >= self._deadline):
            self._end(give_up=True)
            return
        if (self._input_ended or run.stopping) and self._received == run.taken_so_far():
            self._end(give_up=False)
            return
        try:
            entry = run.results.get(timeout=_POLL)
        except queue.Empty:
            return
        self._receive(entry)

    def _receive(self, entry: Entry) -> None:
        if isinstance(entry, InputEnd):
            self._input_ended = True
            return
        if isinstance(entry, InputFailed):
            # Raised once every URL taken before has come back; InputEnd follows.
            # Not a stop: a stop would cancel the URLs still waiting for a worker.
            self._failure = entry.error
            return
        self._received += 1
        self._run.received(entry)
        if entry.result is None:
            if entry.abandoned:
                self._abandoned += 1
            else:
                self._not_sent += 1
        if self._reorder is not None:
            self._ready.extend(self._reorder.push(entry.seq, entry.result))
        elif entry.result is not None:
            self._ready.append(entry.result)

    def _end(self, *, give_up: bool) -> None:
        """Collect what came back, count what did not, and stop the threads."""
        run = self._run
        run.stopping = True
        while True:
            try:
                self._receive(run.results.get_nowait())
            except queue.Empty:
                break
        in_flight, taken = run.in_flight(), run.taken_so_far()
        given_up = in_flight if give_up else 0
        self._abandoned += given_up
        self._not_sent += max(0, taken - self._received - given_up)
        if self._reorder is not None:
            self._ready.extend(self._reorder.flush())
        self._ended = True
        self._finalizer.detach()
        run.finish(wait=given_up == 0)


def check_urls(urls: object) -> None:
    """Refuse a single URL given where an iterable of URLs is expected (a str would be read a character at a time)."""
    if isinstance(urls, (str, bytes)):
        raise TypeError(f"urls must be an iterable of URLs, not a single {type(urls).__name__}")


def check_options(options: FetchOptions | None) -> FetchOptions:
    """``options``, or the defaults for None; a TypeError for anything else."""
    if options is None:
        return FetchOptions()
    if not isinstance(options, FetchOptions):
        raise TypeError(f"options must be a FetchOptions or None, got {describe(options)}")
    return options
