"""One batch of a fetch on a Dask cluster, as the task a worker runs: :func:`fetch_batch`.

The task fetches its ``(seq, url)`` pairs with a :class:`~sessionpool.Fetch`
over the worker's pool (made by :class:`~sessionpool.dask.PoolPlugin`), and
returns a :class:`BatchDone`. It is told to stop, or to give up on its
requests in flight, through two ``distributed.Event`` of the fetch, named in
its :class:`Orders`; the client's side is :mod:`~sessionpool._fetch.cluster`, which
sets those events through :mod:`~sessionpool._fetch.cluster_orders`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable

import distributed

from sessionpool._base import Pool
from sessionpool._errors import WorkerDied
from sessionpool._fetch.engine import Fetch
from sessionpool._fetch.options import FetchOptions
from sessionpool._fetch.result import FetchResult
from sessionpool._stats import PoolStats

__all__ = ["BatchDone", "Orders", "fetch_batch"]

#: How often a batch's watcher asks the scheduler whether the fetch was told to stop.
_WATCH_SECONDS = 0.2


@dataclasses.dataclass(frozen=True)
class BatchDone:
    """What :func:`fetch_batch` returns: the batch's results (each ``index`` is the URL's seq) and more.

    :param results: one per URL sent; URLs not sent (the fetch was stopped) have none.
    :param abandoned: requests given up on in flight (the fetch was told not to wait).
    :param pool: which pool the batch went through: the worker's address,
        its process ID and the pool's ``id()`` (a worker started again, or a
        pool made again, is another pool).
    :param stats: that pool's counters when the batch ended.
    :param stats_at: when they were read, by the worker's monotonic clock (the latest snapshot wins).
    """

    results: tuple[FetchResult, ...]
    abandoned: int
    pool: str
    stats: PoolStats
    stats_at: float


@dataclasses.dataclass(frozen=True)
class Orders:
    """What the client asks of every batch: the names of the fetch's events on the scheduler, sent with each."""

    stop: str  # take no more URLs
    abandon: str  # do not wait for the requests in flight
    once_only: bool  # the method is not safe to send twice: a batch never runs a second time
    started: str  # with once_only, the prefix of each batch's start marker


#: How a batch finds its worker's pool: the Dask integration's ``worker_pool``, given the plugin's name.
PoolOf = Callable[[str], Pool]


def fetch_batch(
    batch: list[tuple[int, str]], options: FetchOptions, plugin: str, orders: Orders, number: int, pool_of: PoolOf
) -> BatchDone:
    """A Dask task: fetch ``batch``'s ``(seq, url)`` pairs through the worker's pool of plugin ``plugin``.

    ``pool_of`` finds that pool: the engine knows nothing of the Dask
    integration above it, which passes its own lookup (a module-level
    function, pickled by name to the worker).
    """
    pool = pool_of(plugin)
    source = f"{distributed.get_worker().address}/{os.getpid()}/{id(pool)}"
    stop, abandon = distributed.Event(orders.stop), distributed.Event(orders.abandon)
    if stop.is_set():
        return _done((), 0, source, pool.stats())
    if orders.once_only:
        started = distributed.Event(f"{orders.started}-{number}")
        if started.is_set():
            return _done(_not_run_again(batch, options.method), 0, source, pool.stats())
        started.set()
    fetch = Fetch(batch, pool, options)
    ended = threading.Event()
    threading.Thread(
        target=_watch, args=(fetch, stop, abandon, ended), name="sessionpool-batch-watcher", daemon=True
    ).start()
    results: list[FetchResult] = []
    try:
        with fetch:
            results.extend(fetch)
    finally:
        ended.set()
    return _done(tuple(results), fetch.abandoned, source, pool.stats())


def _done(results: tuple[FetchResult, ...], abandoned: int, source: str, stats: PoolStats) -> BatchDone:
    return BatchDone(results, abandoned, source, stats, time.monotonic())


def _not_run_again(batch: list[tuple[int, str]], method: str) -> tuple[FetchResult, ...]:
    error = WorkerDied(
        f"a cluster worker died while fetching this URL's batch; it was not sent again, since {method}"
        " is not safe to send twice and it may have been sent already"
    )
    return tuple(FetchResult.failed(seq, url, error) for seq, url in batch)


def _watch(fetch: Fetch, stop: distributed.Event, abandon: distributed.Event, ended: threading.Event) -> None:
    """Cancel the batch's fetch when the client says so, until the batch ended.

    It asks the scheduler every :data:`_WATCH_SECONDS`, rather than waiting on
    the events there: a wait still pending when the cluster closes is logged
    as an error by distributed.
    """
    stopped = False
    with contextlib.suppress(Exception):  # the worker is closing: its batch ends with it
        while not ended.wait(_WATCH_SECONDS):
            if not stopped and stop.is_set():
                stopped = True
                fetch.cancel()
            if stopped and abandon.is_set():
                fetch.cancel(wait=False)
                return
