"""Threads released together by a barrier: the one helper the tests, the demo and the benchmarks share."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ThreadsRun", "run_threads"]


@dataclass(frozen=True)
class ThreadsRun:
    """What :func:`run_threads` saw."""

    released: bool  # False: a thread's prepare failed, or the threads were not ready in time
    seconds: float  # from the release until the last thread ended (or the deadline passed)
    errors: tuple[BaseException, ...]  # what the threads raised, in the order they raised it
    hung: tuple[str, ...]  # the names of the threads still running at the deadline


def run_threads(
    count: int,
    target: Callable[[int], object],
    *,
    prepare: Callable[[int], object] | None = None,
    seconds: float = 60.0,
    raise_errors: bool = True,
    name: str = "sessionpool-worker",
) -> ThreadsRun:
    """Run ``target(i)`` for ``i`` in ``range(count)``, each in a thread of its own, all released at once.

    Each thread first runs ``prepare(i)``, if given, then waits at a barrier
    until every thread is ready; the clock starts when the barrier releases
    them. A prepare that raises, or threads not all ready within ``seconds``,
    break the barrier and no target runs. Every thread must end within
    ``seconds`` of the release; the threads are daemons, so one that hangs
    keeps no process alive.

    With ``raise_errors`` (the default, for tests) a hung thread fails with
    an :class:`AssertionError` and the first error a thread raised is raised
    again here; without it, both are only reported in the result.
    """
    if count < 1:
        raise ValueError(f"run_threads needs at least one thread, got {count}")
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count + 1, timeout=seconds)

    def failed(error: BaseException) -> None:
        with lock:
            errors.append(error)

    def body(index: int) -> None:
        try:
            if prepare is not None:
                prepare(index)
        except BaseException as error:  # reported to the caller
            failed(error)
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        try:
            target(index)
        except BaseException as error:  # reported to the caller
            failed(error)

    threads = [threading.Thread(target=body, args=(i,), name=f"{name}-{i}", daemon=True) for i in range(count)]
    try:
        for thread in threads:
            thread.start()
    except BaseException:
        barrier.abort()  # the threads started so far stop waiting
        raise
    released = True
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    if barrier.broken:
        released = False
        with lock:
            prepare_failed = bool(errors)  # a failed prepare broke it, not the clock
        if not prepare_failed:
            failed(TimeoutError(f"the {count} threads were not all ready within {seconds:g} s"))
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    run = ThreadsRun(
        released=released,
        seconds=time.perf_counter() - started,
        errors=tuple(errors),
        hung=tuple(thread.name for thread in threads if thread.is_alive()),
    )
    if raise_errors:
        if run.hung:
            raise AssertionError(f"threads still running {seconds:g} s after their release: {list(run.hung)}")
        if run.errors:
            raise run.errors[0]
    return run
