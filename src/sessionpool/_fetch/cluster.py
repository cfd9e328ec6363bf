"""A fetch on a Dask cluster: :class:`ClusterRun`, the backend of :func:`sessionpool.dask.fetch_all`.

::

    (index, url) ──► input thread ──► batch of its slot   ──► a Dask task on ──► collector thread ──► results
                     numbers it       (shard_of(url)):       some worker:       as_completed: puts    (one queue,
                     (seq)            sent when full,        fetch_batch()      each URL's index      for the Fetch)
                                      after 50 ms, or at                        back, drops
                                      the input's end                           duplicates

Every batch is one task, :func:`~sessionpool._fetch.batch.fetch_batch`, which runs a
:class:`~sessionpool.Fetch` over the worker's pool (made by the
:class:`~sessionpool.dask.PoolPlugin`) with ``options.threads`` threads, and
returns the results, the worker's address and its pool's counters. The
client keeps as many batches in flight as the workers have threads, and one
more per worker (counted when the fetch starts), and at most a few batches' worth of URLs
taken from the input and not yet handed to the caller, so a long input is
streamed, never held whole.

URLs are put in batches by slot, so that the URLs of one host go to one
worker, and a per-host limit holds across the cluster: see
:mod:`~sessionpool._fetch.slots`.

**A worker that dies.** Dask reschedules the batches it held; a batch that
kept killing workers ends with ``KilledWorker`` (after the scheduler's
``distributed.scheduler.allowed-failures``). The client remembers every URL
taken until its result came back, and drops a result whose URL was resolved
already (by its seq, its input position), so each URL comes out exactly
once: with the rerun's result, or with a ``WorkerDied`` result when the
batch failed. A batch whose method is not safe to send twice never runs a
second time (see :mod:`~sessionpool._fetch.cluster_orders`).

**Stopping.** A cancel tells every batch to stop, through events on the
scheduler (:mod:`~sessionpool._fetch.cluster_orders`). After the grace the
client cancels the futures still pending; their URLs are counted as
abandoned by the :class:`~sessionpool.Fetch`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import distributed
from distributed.scheduler import KilledWorker

from sessionpool._config import PoolConfig
from sessionpool._errors import WorkerDied
from sessionpool._fetch.backend import Entry, InputEnd, InputFailed, Taken
from sessionpool._fetch.batch import BatchDone, PoolOf, fetch_batch
from sessionpool._fetch.cluster_orders import ClusterOrders, once_only
from sessionpool._fetch.intake import Intake
from sessionpool._fetch.options import FetchOptions, grace_seconds
from sessionpool._fetch.result import FetchResult
from sessionpool._fetch.slots import Batch, Slots
from sessionpool._stats import PoolStats

__all__ = ["BATCHES_PER_WORKER", "SHUTDOWN_MARGIN", "ClusterRun"]

#: The fewest batches in flight (a cluster whose workers are not known yet).
BATCHES_PER_WORKER = 2
#: URLs per batch, per fetch thread: enough that a batch's cost on the scheduler and in starting its
#: threads is small beside its requests (each task costs milliseconds of scheduling and a batch starts
#: ``threads`` threads), few enough that results stream back every few seconds.
BATCH_PER_THREAD = 64
#: Seconds added to the workers' grace before the client gives up on them:
#: their results come back through the scheduler.
SHUTDOWN_MARGIN = 5.0
#: How long the client's threads wait at a time before looking at the stop flags again.
_POLL = 0.02


@dataclasses.dataclass
class _Held:
    """A URL taken whose outcome has not been put on the results queue."""

    index: int
    url: str


class ClusterRun:
    """The batches of one fetch on a Dask cluster, the threads that send them and collect them, and their state.

    :param client: the client of the cluster.
    :param items: the ``(index, url)`` pairs, read lazily by the input thread.
    :param config: the settings of the workers' pools (for the grace and for
        whether the method may be sent twice).
    :param options: how to fetch (``processes`` must be 1).
    :param plugin: the name of the :class:`~sessionpool.dask.PoolPlugin` whose pool every batch uses.
    :param pool_of: how a batch finds that pool on its worker (``sessionpool.dask.worker_pool``).
    :param on_finish: called once when the run has finished (unregisters the plugin the fetch registered).
    """

    def __init__(
        self,
        client: distributed.Client,
        items: Iterator[tuple[int, str]],
        config: PoolConfig,
        options: FetchOptions,
        *,
        plugin: str,
        pool_of: PoolOf,
        on_finish: Callable[[], None] | None = None,
        batch_size: int,
    ) -> None:
        self.results: queue.SimpleQueue[Entry] = queue.SimpleQueue()
        self.stopping = False
        self.abandoning = False
        worker_grace = options.grace if options.grace is not None else grace_seconds(config.timeout)
        #: How long the caller waits for results after a cancel: the workers' grace and the way back.
        self.grace = worker_grace + SHUTDOWN_MARGIN
        self._client = client
        self._plugin = plugin
        self._pool_of = pool_of
        self._on_finish = on_finish
        self._options = dataclasses.replace(options, processes=1, ordered=False, grace=worker_grace)
        nthreads = client.nthreads()
        workers = max(1, len(nthreads))
        # Every worker thread runs a batch, and every worker has one more waiting, to start as one ends.
        self._max_batches = max(BATCHES_PER_WORKER, sum(nthreads.values()) + workers)
        slots = Slots(workers, batch_size, per_host=options.per_host is not None)
        # Places for URLs taken and not yet received by the caller: the batches in flight and one filling per slot.
        places = (self._max_batches + len(slots)) * batch_size
        self._intake = Intake(items, places, self.results, lambda: self.stopping)
        self._name = name = f"sessionpool-fetch-{uuid.uuid4().hex}"
        self._orders = ClusterOrders(client, name, once_only=once_only(config, options.method))
        self._changed = threading.Condition()  # guards everything below
        self._slots = slots
        self._held: dict[int, _Held] = {}
        self._futures: dict[str, tuple[Batch, distributed.Future[BatchDone]]] = {}  # by key: submitted, not come back
        self._input_ended = False
        self._started = self._finished = False
        self._worker_stats: dict[str, tuple[float, PoolStats]] = {}  # by BatchDone.pool
        self._completed = distributed.as_completed(loop=client.loop, with_results=True, raise_errors=False)
        self._collector: threading.Thread | None = None

    # -- what the Fetch asks ------------------------------------------------

    def taken_so_far(self) -> int:
        return self._intake.taken_so_far()

    def in_flight(self) -> int:
        with self._changed:
            return len(self._held)

    def received(self, entry: Taken) -> None:
        """The caller took ``entry``: give its place back to the input thread."""
        self._intake.received(entry)

    def stats(self) -> PoolStats:
        """Every worker's pool's counters added up (the latest snapshot each pool sent back)."""
        with self._changed:
            snapshots = [stats for _, stats in self._worker_stats.values()]
        return PoolStats.combine(snapshots)

    def start(self) -> None:
        with self._changed:
            if self._started or self._finished or self.stopping:
                self.results.put(InputEnd())
                return
            self._started = True
        self._collector = threading.Thread(target=self._collect, name="sessionpool-cluster-collector", daemon=True)
        self._collector.start()
        self._intake.start(self._hand_out, at_end=self._end_input, name="sessionpool-cluster-input")

    def cancel_queued(self) -> None:
        """URLs waiting in the client for their batch are never sent; batches not started send nothing."""
        with self._changed:
            for seq in self._slots.drop_waiting():
                self._resolve(seq, None)
            self._changed.notify_all()
        self._tell()

    def finish(self, *, wait: bool) -> None:
        """Stop every batch, waiting at most the grace for them if ``wait``; cancel the futures left."""
        self.stopping = True
        if not wait:
            self.abandoning = True
        with self._changed:
            if self._finished:
                return
            self._finished = True
        try:
            with self._changed:
                running = bool(self._futures)
            if running:
                self._tell()
            deadline = time.monotonic() + (self.grace if wait else 0.0)
            with self._changed:
                while self._futures and time.monotonic() < deadline:
                    self._changed.wait(_POLL)
            if self._collector is not None and self._collector is not threading.current_thread():
                self._collector.join(5.0)  # it ends within a poll once finished is set
            with self._changed:
                futures = [future for _, future in self._futures.values()]
                everything_back = not self._futures
                self._futures.clear()
            if futures:
                with contextlib.suppress(Exception):  # the client may be closed already
                    self._client.cancel(futures)
            if everything_back:
                self._orders.forget()
        finally:
            if self._on_finish is not None:
                self._on_finish()

    # -- the input thread ---------------------------------------------------

    def _end_input(self) -> None:
        """The input thread takes no more URLs: send what is batched."""
        with self._changed:
            self._input_ended = True
        self._submit_due()

    def _hand_out(self, seq: int, index: int, url: str) -> None:
        """Put the ``seq``-th URL, which holds a place, in its slot's batch (a malformed one too: a worker says why)."""
        with self._changed:
            if self.stopping:
                self.results.put(Taken(seq, None, roomed=True))
                return
            self._held[seq] = _Held(index, url)
            self._slots.add(seq, url, time.monotonic())
        self._submit_due()

    # -- sending batches ----------------------------------------------------

    def _submit_due(self) -> None:
        """Submit the batches that may go now (see :meth:`Slots.take_due`), unless the fetch is stopping."""
        with self._changed:
            most = 0 if self.stopping else self._max_batches
            due = self._slots.take_due(time.monotonic(), input_ended=self._input_ended, most=most)
        for batch in due:
            self._submit(batch)

    def _submit(self, batch: Batch) -> None:
        key = f"{self._name}-batch-{batch.number}"
        try:
            future = self._client.submit(
                fetch_batch,
                batch.pairs,
                self._options,
                self._plugin,
                self._orders.orders,
                batch.number,
                self._pool_of,
                key=key,
                pure=False,
            )
        except Exception as error:  # the client is closed, or the cluster unreachable
            with self._changed:
                self._batch_back(batch)
                for seq, url in batch.pairs:
                    held = self._held.get(seq)
                    if held is not None:
                        self._resolve(seq, FetchResult.failed(held.index, url, error))
            return
        with self._changed:
            self._futures[str(future.key)] = (batch, future)
        self._orders.submitted(batch.number)
        self._completed.add(future)

    def _batch_back(self, batch: Batch) -> None:
        """``batch`` is no longer in flight (under the lock)."""
        self._slots.back(batch)
        self._changed.notify_all()

    # -- the collector thread -----------------------------------------------

    def _collect(self) -> None:
        """Take the batches that came back, send the batches due, and pass on the stop orders, until finished."""
        while not self._finished:
            try:
                self._tell()
                ready = self._completed.next_batch(block=False)
                for future, outcome in ready:
                    self._came_back(future, outcome)
                self._submit_due()
            except BaseException as error:  # a bug: the caller raises it, after waiting the grace for the rest
                self.stopping = True
                self.results.put(InputFailed(error))
                return
            if not ready:
                time.sleep(_POLL)

    def _came_back(self, future: distributed.Future[BatchDone], outcome: Any) -> None:
        """The task of a batch ended: resolve its URLs still held, whatever became of it."""
        with self._changed:
            submitted = self._futures.pop(str(future.key), None)
            if submitted is None:
                return  # cancelled by finish()
            batch = submitted[0]
            self._batch_back(batch)
            if future.status == "finished" and isinstance(outcome, BatchDone):
                self._worker_stats[outcome.pool] = max(
                    self._worker_stats.get(outcome.pool, (float("-inf"), outcome.stats)),
                    (outcome.stats_at, outcome.stats),
                    key=lambda pair: pair[0],
                )
                for result in outcome.results:
                    held = self._held.get(result.index)
                    if held is not None:  # None: a rerun's duplicate, resolved already
                        self._resolve(result.index, dataclasses.replace(result, index=held.index))
                left = [seq for seq, _ in batch.pairs if seq in self._held]
                for number, seq in enumerate(left):  # not sent: the batch was stopped
                    self._resolve(seq, None, abandoned=number < outcome.abandoned)
                return
            error = _error_of(future, outcome)
            for seq, url in batch.pairs:
                held = self._held.get(seq)
                if held is not None:
                    self._resolve(seq, FetchResult.failed(held.index, url, error))

    def _tell(self) -> None:
        """Pass the stop flags on to the batches (once each)."""
        self._orders.tell(stop=self.stopping, abandon=self.abandoning)

    def _resolve(self, seq: int, result: FetchResult | None, *, abandoned: bool = False) -> None:
        """The ``seq``-th URL's outcome is known: forget it, and hand it to the caller (under the lock)."""
        held = self._held.pop(seq, None)
        if held is None:
            return
        self.results.put(Taken(seq, result, roomed=True, abandoned=abandoned))


def _error_of(future: distributed.Future[BatchDone], outcome: Any) -> BaseException:
    """Why a batch's task gave no results: ``WorkerDied`` for a batch that killed its workers."""
    if future.status == "error" and isinstance(outcome, tuple) and len(outcome) == 3:
        error = outcome[1]
        if isinstance(error, KilledWorker):
            return WorkerDied(
                f"the cluster workers fetching this URL's batch died while running it, too often to try again ({error})"
            )
        if isinstance(error, BaseException):
            return error
    if isinstance(outcome, BaseException):
        return WorkerDied(f"the cluster gave up on this URL's batch ({type(outcome).__name__}: {outcome})")
    return WorkerDied(f"the cluster lost this URL's batch (its task ended as {future.status!r})")
