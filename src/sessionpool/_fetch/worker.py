"""One worker process of a fetch over processes: a pool and threads of its own, URLs in and results out by pipe.

::

    parent ──inbox: batches of (index, url), then None──►  worker: a Fetch over its own pool
    parent ◄──outbox: ResultBatch ..., then WorkerDone──
    parent ──orders: go on, stop, abandon──►              (one shared byte, read every 50 ms)

:func:`serve` is the process's main function. The worker ignores SIGINT
and SIGTERM: Ctrl-C, and the SIGTERM that systemd or a container runtime
sends to the whole process group, belong to the parent, which asks its
workers to stop (let the requests in flight finish) or to give up on them
through :class:`Orders`.
A worker whose parent goes away gives up too.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext

from sessionpool._config import PoolConfig
from sessionpool._fetch.engine import Fetch, make_pool
from sessionpool._fetch.options import FetchOptions
from sessionpool._fetch.result import FetchResult
from sessionpool._stats import PoolStats

__all__ = ["ABANDON", "GO_ON", "PARENTS_SIGNALS", "STOP", "Orders", "ResultBatch", "WorkerDone", "WorkerTask", "serve"]

#: The signals a worker leaves to its parent: Ctrl-C, and a stop from systemd, a container runtime or ``timeout``.
PARENTS_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})

#: Seconds a result waits at most in a worker for others to share its message.
FLUSH_SECONDS = 0.02
#: How often the worker looks at the stop events and at its parent.
_POLL = 0.05


#: The orders, each stronger than the one before: fetch, stop taking URLs, give up on the requests in flight.
GO_ON, STOP, ABANDON = 0, 1, 2


class Orders:
    """What the parent asks of its workers: :data:`GO_ON`, :data:`STOP` or :data:`ABANDON`.

    One byte of shared memory and no lock: the parent writes it, the workers
    read it. A worker may be killed at any moment, so nothing it could hold
    may make another process wait; a :class:`multiprocessing.Event` would
    (its ``set()`` waits until every process waiting on it has woken, a
    killed one included, which never does).
    """

    def __init__(self, context: BaseContext) -> None:
        self._order = context.RawValue("b", GO_ON)

    @property
    def current(self) -> int:
        """The strongest order given so far."""
        return int(self._order.value)

    def give(self, order: int) -> None:
        """Give ``order``, unless a stronger one was given already."""
        if order > self._order.value:
            self._order.value = order


@dataclass(frozen=True)
class WorkerTask:
    """What a worker process is started with: the pool's settings and how to fetch (pickled to it)."""

    config: PoolConfig
    options: FetchOptions
    batch_size: int


@dataclass(frozen=True)
class ResultBatch:
    """Results a worker sends back, and its pool's counters at that point."""

    results: tuple[FetchResult, ...]
    stats: PoolStats


@dataclass(frozen=True)
class WorkerDone:
    """A worker's last message: its fetch ended; ``abandoned`` requests were given up on in flight."""

    stats: PoolStats
    abandoned: int


def serve(task: WorkerTask, inbox: Connection, outbox: Connection, orders: Orders, inherited: list[Connection]) -> None:
    """Fetch the URLs that come through ``inbox`` until it ends, sending the results through ``outbox``.

    ``inherited``: the parent's ends of pipes that a forked worker holds copies of, closed first, so that
    each pipe ends when its own two processes let go of it.
    """
    for end in inherited:
        end.close()
    for number in PARENTS_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, PARENTS_SIGNALS)  # blocked by the parent while starting us
    pool = make_pool(task.config, task.options)
    fetch = Fetch(_received_urls(inbox), pool, task.options, close_pool=True)
    sender = _Sender(outbox, fetch, task.batch_size)
    watching = threading.Thread(target=_watch, args=(fetch, orders, os.getppid()), daemon=True)
    watching.start()
    with fetch:
        for result in fetch:
            sender.add(result)
    sender.close(WorkerDone(fetch.stats(), fetch.abandoned))
    # Everything is sent and the pool closed: exit now, not after the interpreter's teardown, which the
    # parent would wait for (and threads still stuck in requests given up on would hold up).
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


def _received_urls(inbox: Connection) -> Iterator[tuple[int, str]]:
    """The (index, url) pairs of every batch from the parent, until its end of input (or its end)."""
    while True:
        try:
            batch = inbox.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        yield from batch


def _watch(fetch: Fetch, orders: Orders, parent: int) -> None:
    """Cancel the fetch when the parent asks to, or is gone."""
    stopped = False
    while True:
        order = orders.current
        if order == ABANDON or os.getppid() != parent:
            fetch.cancel(wait=False)
            return
        if order == STOP and not stopped:
            stopped = True
            fetch.cancel()
        time.sleep(_POLL)


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
