"""A fetch over worker processes: :class:`ProcessRun`, the backend of ``FetchOptions(processes=N)``.

::

    (index, url) ──► input thread ──► worker process k = shard_of(url)  ──► collector thread ──► results
                     numbers it       (its own pool and threads: see       reads every worker's   (one queue,
                     (seq), batches   worker.py), fed through its own      pipe, finds each       for the
                     it per worker    pipe, at most `window` URLs ahead    result's seq by index  Fetch)

URLs go to the worker of their host (:func:`~.shard.shard_of`), so a
host's connections are reused in one pool, and a per-host limit kept by
each worker holds across all of them. Each worker has a pipe of its own
each way, and is started by fork or by spawn: see
:mod:`~sessionpool._fetch.worker_handle`.

The parent remembers every URL it handed to a worker until its result came
back, so nothing is lost when a worker dies: its URLs get a ``WorkerDied``
result, and a new worker takes its place (at most :data:`RESTARTS` times per
shard; after that its hosts' URLs get ``WorkerDied`` at once). Those URLs are
not sent again by the fetch: one of them may have been sent already, with a
method not safe to repeat; ``sessionpool fetch --resume`` fetches them again.
"""

from __future__ import annotations

import dataclasses
import multiprocessing.connection
import queue
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection

from sessionpool._config import PoolConfig
from sessionpool._errors import WorkerDied
from sessionpool._fetch.backend import Entry, InputEnd, Taken
from sessionpool._fetch.intake import Intake
from sessionpool._fetch.options import FetchOptions, grace_seconds
from sessionpool._fetch.result import FetchResult
from sessionpool._fetch.shard import shard_of
from sessionpool._fetch.worker import ABANDON, STOP, Orders, ResultBatch, WorkerDone, WorkerTask
from sessionpool._fetch.worker_handle import WorkerHandle, end_process, start_method_context, start_worker
from sessionpool._stats import PoolStats

__all__ = ["RESTARTS", "SHUTDOWN_MARGIN", "ProcessRun"]

#: How many times a worker that died is replaced, per shard.
RESTARTS = 2
#: Seconds added to the workers' grace before the parent gives up on them:
#: their last results have to come back through the pipes.
SHUTDOWN_MARGIN = 3.0
#: How long the threads wait at a time before looking at the stop flags again.
_POLL = 0.05
#: A URL waits at most this long in the parent for others to share its batch.
_FLUSH_SECONDS = 0.02
#: The most URLs sent in one message to a worker.
_MAX_BATCH = 64


@dataclasses.dataclass
class _Held:
    """A URL handed to a worker whose result has not come back: its number among the URLs taken, and who has it."""

    seq: int
    url: str
    worker: WorkerHandle


class ProcessRun:
    """The worker processes of one fetch, the threads that feed them and collect from them, and their state.

    :param items: the ``(index, url)`` pairs, read lazily by the input thread; the indices must differ
        from each other (:func:`~sessionpool.fetch_all` numbers the URLs): a result is known by its index.
    :param config: the settings of every worker's pool.
    :param options: how to fetch; ``processes`` workers are started.
    """

    def __init__(self, items: Iterator[tuple[int, str]], config: PoolConfig, options: FetchOptions) -> None:
        self.results: queue.SimpleQueue[Entry] = queue.SimpleQueue()
        self.stopping = False
        self.abandoning = False
        worker_grace = options.grace if options.grace is not None else grace_seconds(config.timeout)
        #: How long the caller waits for results after a cancel: the workers' grace and the way back.
        self.grace = worker_grace + SHUTDOWN_MARGIN
        self._processes = options.processes
        self._batch_size = min(_MAX_BATCH, options.threads)
        self._window = 4 * options.threads  # URLs handed to one worker and not back yet
        #: URLs taken and not yet received by the caller, at most: as many as the workers' windows together.
        self._intake = Intake(items, self._processes * self._window, self.results, lambda: self.stopping)
        worker_options = dataclasses.replace(options, processes=1, ordered=False, grace=worker_grace)
        self._task = WorkerTask(config, worker_options, self._batch_size)
        self._context = start_method_context()
        self._orders = Orders(self._context)
        self._changed = threading.Condition()  # guards everything below
        self._workers: list[WorkerHandle | None] = []  # None: the shard is lost (its worker died too often)
        self._gone: list[WorkerHandle] = []  # workers that died, for their last counters
        self._deaths = [0] * self._processes
        self._held: dict[int, _Held] = {}  # by index
        self._input_ended = False
        self._started = self._finished = False
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
        with self._changed:
            workers = [worker for worker in self._workers if worker is not None] + self._gone
        return PoolStats.combine(worker.stats for worker in workers if worker.stats is not None)

    def start(self) -> None:
        with self._changed:
            if self._started or self._finished or self.stopping:
                self.results.put(InputEnd())
                return
            self._started = True
        for shard in range(self._processes):  # one at a time: a forked worker closes the pipes of those before it
            self._workers.append(self._start_worker(shard))
        self._collector = threading.Thread(target=self._collect, name="sessionpool-fetch-collector", daemon=True)
        self._collector.start()
        threading.Thread(target=self._flush_now_and_then, name="sessionpool-fetch-flusher", daemon=True).start()
        self._intake.start(self._hand_out, at_end=self._end_input, name="sessionpool-fetch-input")

    def cancel_queued(self) -> None:
        """URLs still waiting in the parent for their batch are never sent; the workers drop their own queued."""
        with self._changed:
            for worker in self._workers:
                if worker is not None:
                    for index, _ in worker.batch:
                        self._resolve(index, None)
                    worker.batch = []
        self._orders.give(STOP)

    def finish(self, *, wait: bool) -> None:
        """Stop every worker, waiting at most the grace for them if ``wait``; kill those still running."""
        self.stopping = True
        if not wait:
            self.abandoning = True
        with self._changed:
            if self._finished:
                return
            self._finished = True
            workers = [worker for worker in self._workers if worker is not None]
        self._orders.give(STOP)
        if not wait:
            self._orders.give(ABANDON)
        deadline = time.monotonic() + (self.grace if wait else _POLL)
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in workers:
            end_process(worker.process)
        if self._collector is not None:
            self._collector.join()
        for worker in workers + self._gone:
            worker.close_pipes()

    # -- starting workers ---------------------------------------------------

    def _start_worker(self, shard: int) -> WorkerHandle:
        others = [worker for worker in self._workers if worker is not None]
        return start_worker(self._context, self._task, shard, self._orders, others)

    # -- the input thread ---------------------------------------------------

    def _hand_out(self, seq: int, index: int, url: str) -> None:
        """Hand the ``seq``-th URL, which holds a place, to its host's worker (a malformed one too: it says why)."""
        shard = shard_of(url, self._processes)
        with self._changed:
            while True:
                worker = self._workers[shard]
                if worker is None:
                    self.results.put(Taken(seq, _lost_shard_result(index, url, self._deaths[shard]), roomed=True))
                    return
                if self.stopping:
                    self.results.put(Taken(seq, None, roomed=True))
                    return
                if not worker.dead and worker.outstanding < self._window:
                    break
                self._changed.wait(_POLL)
            worker.outstanding += 1
            self._held[index] = _Held(seq, url, worker)
            if not worker.batch:
                worker.batch_since = time.monotonic()
            worker.batch.append((index, url))
            batch = self._take_batch(worker) if len(worker.batch) >= self._batch_size else None
        if batch:
            worker.send(batch)

    def _take_batch(self, worker: WorkerHandle) -> list[tuple[int, str]]:
        batch, worker.batch = worker.batch, []
        return batch

    def _end_input(self) -> None:
        """Send what is batched, then the end of the input, to every worker."""
        with self._changed:
            self._input_ended = True
            workers = [worker for worker in self._workers if worker is not None]
            batches = [(worker, self._take_batch(worker)) for worker in workers]
        for worker, batch in batches:
            if batch:
                worker.send(batch)
            worker.send(None)

    # -- the flusher thread -------------------------------------------------

    def _flush_now_and_then(self) -> None:
        """Send every batch that has waited :data:`_FLUSH_SECONDS`: a slow input still gets fetched."""
        while not (self._finished or self._input_ended):
            time.sleep(_FLUSH_SECONDS)
            now = time.monotonic()
            with self._changed:
                due = [
                    (worker, self._take_batch(worker))
                    for worker in self._workers
                    if worker is not None and worker.batch and now - worker.batch_since >= _FLUSH_SECONDS
                ]
            for worker, batch in due:
                worker.send(batch)

    # -- the collector thread -----------------------------------------------

    def _collect(self) -> None:
        """Read every worker's results, and notice the workers that exit, until all have."""
        while True:
            if self.stopping:
                self._orders.give(STOP)
            if self.abandoning:
                self._orders.give(ABANDON)
            with self._changed:
                running = [worker for worker in self._workers if worker is not None and not worker.exited]
                over = self._input_ended or self._finished
            if not running:
                if over:
                    return
                time.sleep(_POLL)  # a new worker is starting
                continue
            handles: dict[int, WorkerHandle] = {worker.process.sentinel: worker for worker in running}
            messages: dict[Connection, WorkerHandle] = {
                worker.outbox: worker for worker in running if not worker.pipe_ended
            }
            for ready in multiprocessing.connection.wait([*handles, *messages], timeout=_POLL):
                if isinstance(ready, Connection):
                    worker = messages[ready]
                    worker.pipe_ended = not self._read(worker)
                elif isinstance(ready, int):
                    worker = handles[ready]
                    self._drain(worker)
                    self._ended(worker)

    def _read(self, worker: WorkerHandle) -> bool:
        """Take one message from ``worker``; False when its pipe has ended (or holds half a message)."""
        try:
            message = worker.outbox.recv()
        except Exception:  # EOF, or a message cut short by the worker's death
            return False
        with self._changed:
            worker.stats = message.stats
            if isinstance(message, ResultBatch):
                for result in message.results:
                    held = self._held.get(result.index)
                    if held is not None and held.worker is worker:
                        worker.outstanding -= 1
                        self._resolve(result.index, result)
            elif isinstance(message, WorkerDone):
                worker.done = True
                left = [index for index, held in self._held.items() if held.worker is worker]
                for number, index in enumerate(left):
                    self._resolve(index, None, abandoned=number < message.abandoned)
            self._changed.notify_all()
        return True

    def _drain(self, worker: WorkerHandle) -> None:
        """Read what an exited worker sent before it went."""
        while not worker.pipe_ended and worker.outbox.poll():
            worker.pipe_ended = not self._read(worker)

    def _ended(self, worker: WorkerHandle) -> None:
        """``worker`` exited: if it had not finished, its URLs are reported and a new worker takes its place."""
        worker.process.join()
        worker.exited = True
        if worker.done:
            return
        code = worker.process.exitcode
        with self._changed:
            worker.dead = True
            self._gone.append(worker)
            for index, held in [(index, held) for index, held in self._held.items() if held.worker is worker]:
                error = WorkerDied(
                    f"the worker process fetching {held.url!r} (pid {worker.pid}) died with exit code {code}"
                    " before its result came back; it was not sent again, since it may have been sent already"
                )
                self._resolve(index, FetchResult.failed(index, held.url, error))
            worker.batch = []
            self._deaths[worker.shard] += 1
            replace = not (self.stopping or self._input_ended or self._finished)
            if self._deaths[worker.shard] > RESTARTS:
                self._workers[worker.shard] = None
                replace = False
            self._changed.notify_all()
        if replace:
            successor = self._start_worker(worker.shard)
            with self._changed:
                self._workers[worker.shard] = successor
                too_late = self._input_ended  # the end of the input went out while it was starting
                self._changed.notify_all()
            if too_late:
                successor.send(None)

    def _resolve(self, index: int, result: FetchResult | None, *, abandoned: bool = False) -> None:
        """The outcome of the URL of ``index`` is known: forget it, and hand it to the caller (under the lock)."""
        held = self._held.pop(index, None)
        if held is None:
            return
        self.results.put(Taken(held.seq, result, roomed=True, abandoned=abandoned))


def _lost_shard_result(index: int, url: str, deaths: int) -> FetchResult:
    error = WorkerDied(
        f"not sent: the worker process for {url!r}'s host died {deaths} times, and was not started again"
    )
    return FetchResult.failed(index, url, error)
