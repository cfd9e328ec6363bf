"""One worker process of a fetch over processes: a pool and threads of its own, URLs in and results out by pipe.

::

    parent ──inbox: batches of (seq, url), then None──►  worker: a Fetch over its own pool
    parent ◄──outbox: ResultBatch ..., then WorkerDone──  (results carry seq as their index)

:func:`serve` is the process's main function. The worker ignores SIGINT:
Ctrl-C belongs to the parent, which asks its workers to stop (``stop``: let
the requests in flight finish) or to give up (``abandon``) through events.
A worker whose parent goes away stops too.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event

from sessionpool._config import PoolConfig
from sessionpool._fetch.engine import Fetch, make_pool
from sessionpool._fetch.options import FetchOptions
from sessionpool._fetch.result import FetchResult
from sessionpool._stats import PoolStats

__all__ = ["ResultBatch", "WorkerDone", "WorkerTask", "serve"]

#: Seconds a result waits at most in a worker for others to share its message.
FLUSH_SECONDS = 0.02
#: How often the worker looks at the stop events and at its parent.
_POLL = 0.05


@dataclass(frozen=True)
class WorkerTask:
    """What a worker process is started with: the pool's settings and how to fetch (pickled to it)."""

    config: PoolConfig
    options: FetchOptions
    batch_size: int


@dataclass(frozen=True)
class ResultBatch:
    """Results a worker sends back (each ``index`` is the URL's seq), and its pool's counters at that point."""

    results: tuple[FetchResult, ...]
    stats: PoolStats


@dataclass(frozen=True)
class WorkerDone:
    """A worker's last message: its fetch ended; ``abandoned`` requests were given up on in flight."""

    stats: PoolStats
    abandoned: int


def serve(task: WorkerTask, inbox: Connection, outbox: Connection, stop: Event, abandon: Event) -> None:
    """Fetch the URLs that come through ``inbox`` until it ends, sending the results through ``outbox``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent while starting us
    pool = make_pool(task.config, task.options)
    fetch = Fetch(_received_urls(inbox), pool, task.options, close_pool=True)
    sender = _Sender(outbox, fetch, task.batch_size)
    watching = threading.Thread(target=_watch, args=(fetch, stop, abandon, os.getppid()), daemon=True)
    watching.start()
    with fetch:
        for result in fetch:
            sender.add(result)
    sender.close(WorkerDone(fetch.stats(), fetch.abandoned))
    if fetch.abandoned:
        os._exit(0)  # threads still stuck in requests given up on would hold up the interpreter's exit


def _received_urls(inbox: Connection) -> Iterator[tuple[int, str]]:
    """The (seq, url) pairs of every batch from the parent, until its end of input (or its end)."""
    while True:
        try:
            batch = inbox.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        yield from batch


def _watch(fetch: Fetch, stop: Event, abandon: Event, parent: int) -> None:
    """Cancel the fetch when the parent asks to, or is gone."""
    asked_to_stop = False
    while True:
        if abandon.is_set() or os.getppid() != parent:
            fetch.cancel(wait=False)
            return
        if stop.is_set() and not asked_to_stop:
            asked_to_stop = True
            fetch.cancel()
        abandon.wait(_POLL)


class _Sender:
    """Sends results to the parent in batches: when ``batch_size`` are waiting, or every :data:`FLUSH_SECONDS`."""

    def __init__(self, outbox: Connection, fetch: Fetch, batch_size: int) -> None:
        self._outbox = outbox
        self._fetch = fetch
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._waiting: list[FetchResult] = []
        self._closed = threading.Event()
        self._broken = False  # the parent is gone: nothing more is sent
        self._flusher = threading.Thread(target=self._flush_now_and_then, daemon=True)
        self._flusher.start()

    def add(self, result: FetchResult) -> None:
        with self._lock:
            self._waiting.append(result)
            if len(self._waiting) >= self._batch_size:
                self._send_waiting()

    def close(self, last: WorkerDone) -> None:
        self._closed.set()
        self._flusher.join()
        with self._lock:
            self._send_waiting()
            self._send(last)

    def _flush_now_and_then(self) -> None:
        while not self._closed.wait(FLUSH_SECONDS):
            with self._lock:
                self._send_waiting()

    def _send_waiting(self) -> None:
        if self._waiting:
            results, self._waiting = tuple(self._waiting), []
            self._send(ResultBatch(results, self._fetch.stats()))

    def _send(self, message: ResultBatch | WorkerDone) -> None:
        if self._broken:
            return
        try:
            self._outbox.send(message)
        except OSError:
            self._broken = True
