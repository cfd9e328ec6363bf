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

**Per-host limits: host affinity, not Dask resources.** URLs are put in
batches by slot, ``shard_of(url, slots)``, so all the URLs of one host are in
batches of the same slot. With ``FetchOptions.per_host`` set, at most one
batch of a slot is in flight at any moment: a slot's next batch is
submitted only once its previous one came back. So all the requests in
flight to one host are in one batch, on one worker, whose
:class:`~sessionpool.Fetch` keeps the limit; it holds across the cluster
with no coordination between workers. Dask's worker resources could only
bound tasks per worker, not requests per host across workers (a resource is
a per-worker count), and a semaphore of the scheduler (``distributed.Semaphore``)
taken per request would cost a round trip to the scheduler for each one.
When a worker dies, Dask runs its batches again elsewhere; the batch died
with its worker, so its slot still has one batch in flight. Without
``per_host``, several batches of a slot may be in flight at once, on
different workers.

**A worker that dies.** Dask reschedules the batches it held; a batch that
kept killing workers ends with ``KilledWorker`` (after the scheduler's
``distributed.scheduler.allowed-failures``). The client remembers every URL
taken until its result came back, and drops a result whose URL was resolved
already (by its seq, its input position), so each URL comes out exactly
once: with the rerun's result, or with a ``WorkerDied`` result when the
batch failed. A batch whose method is not safe to send twice (not in the
pool's ``RetryPolicy.retry_methods``, and no ``Idempotency-Key`` header) is
never run a second time: a rerun finds the batch's start marker (a
``distributed.Event`` set when it first started) and sends nothing, every
URL of it getting a ``WorkerDied`` result instead.

**Stopping.** A cancel sets a ``distributed.Event`` of the fetch that every
batch's watcher thread waits on: running batches stop taking URLs and let
their requests in flight finish, batches not started yet send nothing. A
second event tells them not to wait for the requests in flight. After the
grace the client cancels the futures still pending; their URLs are counted
as abandoned by the :class:`~sessionpool.Fetch`.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import distributed
from distributed.scheduler import KilledWorker

from sessionpool._classify import IDEMPOTENCY_HEADERS
from sessionpool._config import PoolConfig
from sessionpool._errors import WorkerDied
from sessionpool._fetch.backend import Entry, InputEnd, InputFailed, Taken
from sessionpool._fetch.batch import BatchDone, Orders, PoolOf, fetch_batch
from sessionpool._fetch.intake import Intake
from sessionpool._fetch.options import FetchOptions, grace_seconds
from sessionpool._fetch.result import FetchResult
from sessionpool._fetch.shard import shard_of
from sessionpool._stats import PoolStats

__all__ = ["BATCHES_PER_WORKER", "SHUTDOWN_MARGIN", "ClusterRun"]

#: The fewest batches in flight (a cluster whose workers are not known yet).
BATCHES_PER_WORKER = 2
#: Slots per worker: enough that the hosts of the input spread over every worker.
SLOTS_PER_WORKER = 4
#: URLs per batch, per fetch thread: enough that a batch's cost on the scheduler and in starting its
#: threads is small beside its requests (each task costs milliseconds of scheduling and a batch starts
#: ``threads`` threads), few enough that results stream back every few seconds.
BATCH_PER_THREAD = 64
#: Seconds added to the workers' grace before the client gives up on them:
#: their results come back through the scheduler.
SHUTDOWN_MARGIN = 5.0
#: A URL waits at most this long in the client for others of its slot to share its batch.
FLUSH_SECONDS = 0.05
#: How long the client's threads wait at a time before looking at the stop flags again.
_POLL = 0.02


@dataclasses.dataclass
class _Held:
    """A URL taken whose outcome has not been put on the results queue."""

    index: int
    url: str


@dataclasses.dataclass
class _Batch:
    """URLs of one slot sent (or to be sent) as one task."""

    slot: int
    pairs: list[tuple[int, str]]  # (seq, url)
    number: int = -1


class _Slot:
    """The URLs of the hosts of one slot that wait for a batch, and its batches in flight."""

    def __init__(self) -> None:
        self.filling: list[tuple[int, str]] = []
        self.filling_since = 0.0
        self.full: collections.deque[list[tuple[int, str]]] = collections.deque()
        self.in_flight = 0

    def has_waiting(self) -> bool:
        return bool(self.full or self.filling)


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
        self._per_host = options.per_host is not None
        nthreads = client.nthreads()
        workers = max(1, len(nthreads))
        # Every worker thread runs a batch, and every worker has one more waiting, to start as one ends.
        self._max_batches = max(BATCHES_PER_WORKER, sum(nthreads.values()) + workers)
        self._slots = [_Slot() for _ in range(max(SLOTS_PER_WORKER, SLOTS_PER_WORKER * workers))]
        self._batch_size = batch_size
        #: Places for URLs taken and not yet received by the caller: the batches in flight and one filling per slot.
        places = (self._max_batches + len(self._slots)) * self._batch_size
        self._intake = Intake(items, places, self.results, lambda: self.stopping)
        self._name = name = f"sessionpool-fetch-{uuid.uuid4().hex}"
        headers = {header.lower() for header in config.headers}
        unsafe = options.method not in config.retry.retry_methods and not any(
            header.lower() in headers for header in IDEMPOTENCY_HEADERS
        )
        self._orders = Orders(f"{name}-stop", f"{name}-abandon", unsafe, f"{name}-started")
        self._numbers = itertools.count()
        self._changed = threading.Condition()  # guards everything below
        self._held: dict[int, _Held] = {}
        self._futures: dict[str, tuple[_Batch, distributed.Future[BatchDone]]] = {}  # by key: submitted, not come back
        self._markers: list[int] = []  # batches whose start marker may be set on the scheduler
        self._next_slot = 0
        self._in_flight = 0  # batches submitted and not come back
        self._input_ended = False
        self._told_stop = self._told_abandon = False
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
            for slot in self._slots:
                for seq, _ in itertools.chain(slot.filling, *slot.full):
                    self._resolve(seq, None)
                slot.filling = []
                slot.full.clear()
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
                self._forget_events()
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
            slot = self._slots[shard_of(url, len(self._slots))]
            self._held[seq] = _Held(index, url)
            if not slot.filling:
                slot.filling_since = time.monotonic()
            slot.filling.append((seq, url))
            if len(slot.filling) >= self._batch_size:
                slot.full.append(slot.filling)
                slot.filling = []
        self._submit_due()

    # -- sending batches ----------------------------------------------------

    def _submit_due(self) -> None:
        """Submit the batches that may go now: full ones, or older than :data:`FLUSH_SECONDS`, or the last ones."""
        with self._changed:
            due = self._take_due(time.monotonic())
        for batch in due:
            self._submit(batch)

    def _take_due(self, now: float) -> list[_Batch]:
        """The batches to submit now, counted in flight (under the lock); round robin over the slots."""
        due: list[_Batch] = []
        count = len(self._slots)
        while self._in_flight < self._max_batches and not self.stopping:
            for step in range(count):
                number = (self._next_slot + step) % count
                slot = self._slots[number]
                if self._per_host and slot.in_flight:
                    continue  # one batch of a slot at a time: its hosts' requests on one worker
                if slot.full:
                    pairs = slot.full.popleft()
                elif slot.filling and (self._input_ended or now - slot.filling_since >= FLUSH_SECONDS):
                    pairs, slot.filling = slot.filling, []
                else:
                    continue
                self._next_slot = (number + 1) % count
                slot.in_flight += 1
                self._in_flight += 1
                due.append(_Batch(number, pairs, next(self._numbers)))
                break
            else:
                break
        return due

    def _submit(self, batch: _Batch) -> None:
        key = f"{self._name}-batch-{batch.number}"
        try:
            future = self._client.submit(
                fetch_batch,
                batch.pairs,
                self._options,
                self._plugin,
                self._orders,
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
            if self._orders.once_only:
                self._markers.append(batch.number)
        self._completed.add(future)

    def _batch_back(self, batch: _Batch) -> None:
        """``batch`` is no longer in flight (under the lock)."""
        self._slots[batch.slot].in_flight -= 1
        self._in_flight -= 1
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
        """Pass the stop flags on to the batches, through the fetch's events on the scheduler (once each)."""
        for flag, attribute, name in (
            (self.stopping, "_told_stop", self._orders.stop),
            (self.abandoning, "_told_abandon", self._orders.abandon),
        ):
            if flag and not getattr(self, attribute):
                setattr(self, attribute, True)
                with contextlib.suppress(Exception):  # the cluster is gone: no batch is left to tell
                    distributed.Event(name, client=self._client).set()

    def _forget_events(self) -> None:
        """Clear the fetch's events off the scheduler: no batch of it can run any more."""
        told = ((self._told_stop, self._orders.stop), (self._told_abandon, self._orders.abandon))
        names = [name for was_told, name in told if was_told]
        names += [f"{self._orders.started}-{number}" for number in self._markers]
        with contextlib.suppress(Exception):
            for name in names:
                distributed.Event(name, client=self._client).clear()

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
