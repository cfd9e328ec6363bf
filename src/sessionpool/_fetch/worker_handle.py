"""The parent's side of one worker process of a fetch: starting it, its pipes, and ending it.

:mod:`~sessionpool._fetch.worker` is what runs in the worker;
:class:`WorkerHandle` is what the parent holds of it, for
:class:`~sessionpool._fetch.processes.ProcessRun`.

Each worker has a pipe of its own each way, so a worker killed in the middle
of a message spoils only its own pipe, and no lock is shared between
processes. A worker is started with SIGINT and SIGTERM blocked, so that
they never reach it (they are its parent's), and ended by SIGKILL, by PID.

Worker processes are forked when the calling process runs no other thread
(``sessionpool fetch`` does not): they start at once, with everything
imported. Otherwise they are started with ``spawn``, a clean interpreter,
since forking a process whose other threads may hold locks is not safe. A
script that fetches over processes must therefore start from an
``if __name__ == "__main__":`` block, as :mod:`multiprocessing` requires.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from sessionpool._fetch.worker import PARENTS_SIGNALS, Orders, WorkerTask, serve
from sessionpool._stats import PoolStats

__all__ = ["WorkerHandle", "end_process", "start_method_context", "start_worker"]


class WorkerHandle:
    """One worker process, the parent's ends of its pipes, and what the parent knows of it."""

    def __init__(
        self, context: BaseContext, task: WorkerTask, shard: int, orders: Orders, others: list[Connection]
    ) -> None:
        inbox_end, self.inbox = context.Pipe(duplex=False)
        self.outbox, outbox_end = context.Pipe(duplex=False)
        # A forked worker inherits the parent's ends of every pipe, which it closes first; a spawned one
        # inherits only what it is given.
        inherited = [*others, self.inbox, self.outbox] if context.get_start_method() == "fork" else []
        self.process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=serve,
            args=(task, inbox_end, outbox_end, orders, inherited),
            name=f"sessionpool-fetch-worker-{shard}",
            daemon=True,
        )
        self.process.start()
        inbox_end.close()  # the worker's ends: closed here, so a dead worker reads as EOF
        outbox_end.close()
        self.shard = shard
        self.batch: list[tuple[int, str]] = []  # (index, url) pairs waiting to be sent
        self.batch_since = 0.0
        self.outstanding = 0  # URLs handed to it whose result has not come back
        self.send_lock = threading.Lock()
        self.done = False  # it sent WorkerDone
        self.exited = False  # its process has ended
        self.dead = False  # it exited without sending WorkerDone
        self.pipe_ended = False  # its pipe to the parent has nothing more to give
        self.stats: PoolStats | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def send(self, batch: list[tuple[int, str]] | None) -> None:
        """Send a batch (None: the end of the input); a worker that is gone is found by its sentinel."""
        with self.send_lock, contextlib.suppress(OSError, ValueError):
            self.inbox.send(batch)

    def close_pipes(self) -> None:
        self.inbox.close()
        self.outbox.close()


def start_worker(
    context: BaseContext, task: WorkerTask, shard: int, orders: Orders, others: list[WorkerHandle]
) -> WorkerHandle:
    """A new worker for ``shard``, started with SIGINT and SIGTERM blocked so that they never reach it.

    ``others`` are the workers running: a forked worker closes its copies of their pipes' parent ends.
    """
    masked = hasattr(signal, "pthread_sigmask")
    if masked:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, PARENTS_SIGNALS)
    try:
        ends = [end for worker in others for end in (worker.inbox, worker.outbox)]
        return WorkerHandle(context, task, shard, orders, ends)
    finally:
        if masked:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def start_method_context() -> BaseContext:
    """Fork when no other thread runs (fast, and safe then), else spawn."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def end_process(process: BaseProcess) -> None:
    """Make sure ``process`` has exited: kill it, by PID (a worker ignores SIGTERM, which is its parent's)."""
    if process.is_alive():
        process.kill()
        process.join(1.0)
