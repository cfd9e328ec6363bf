"""Both pools under stress together: recycling, invalidation and 64 threads switching as often as they can."""

from __future__ import annotations

import os
import threading
from collections import Counter

import pytest

from helpers import CheckingFactory, wait_until
from sessionpool import QueuePool, ThreadLocalPool
from sessionpool.testing import LocalServer, run_threads


@pytest.mark.timeout(300)  # about a minute on a 2-core machine
@pytest.mark.usefixtures("tiny_switch_interval")
def test_soak_both_pools_with_recycling_and_invalidation(server: LocalServer) -> None:
    threads, per_thread = 64, 200
    factory = CheckingFactory()

    descriptors_before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    local = ThreadLocalPool(session_factory=factory, max_session_requests=25)
    queue = QueuePool(size=16, checkout_timeout=60, session_factory=factory, max_session_age=0.5)
    answered: Counter[str] = Counter()
    answered_lock = threading.Lock()
    done = threading.Event()

    def work(index: int) -> None:
        for n in range(per_thread):
            path = f"/soak/{index}/{n}"
            if n % 2:
                response = local.get(server.url + path)
            else:
                with queue.session() as session:
                    response = session.get(server.url + path)
            assert response.content == b"ok", path
            with answered_lock:
                answered[path] += 1

    def invalidate() -> None:
        for _ in range(200):  # bounded; stops early when the workers are done
            if done.wait(0.05):
                return
            local.invalidate()
            queue.invalidate()

    invalidator = threading.Thread(target=invalidate, name="invalidator")
    invalidator.start()
    try:
        run_threads(threads, work, seconds=240)
    finally:
        done.set()
        invalidator.join(10)
    local_stats, queue_stats = local.stats(), queue.stats()
    local.close()
    queue.close()

    # No session was ever used by two threads at once.
    assert factory.violations == []
    # Every request was sent once and answered once.
    expected = {f"/soak/{i}/{n}" for i in range(threads) for n in range(per_thread)}
    received = Counter(request.path for request in server.requests)
    assert set(received) == expected
    assert set(received.values()) == {1}
    assert set(answered) == expected
    assert set(answered.values()) == {1}
    assert local_stats.requests + queue_stats.requests == threads * per_thread
    # Recycling and invalidation really happened, under load.
    assert local_stats.sessions_created > threads
    assert queue_stats.sessions_created > queue.size
    # After close(), every session is closed, and no socket is left open on either side.
    for stats in (local.stats(), queue.stats()):
        assert stats.sessions_closed == stats.sessions_created
        assert stats.sessions_in_use == 0
    assert wait_until(lambda: server.open_connections == 0, seconds=10)
    if descriptors_before is not None:
        assert wait_until(lambda: len(os.listdir("/proc/self/fd")) <= descriptors_before, seconds=10)
