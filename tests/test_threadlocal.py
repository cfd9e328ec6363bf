"""ThreadLocalPool: a session per thread, every one tracked."""

from __future__ import annotations

import os
import threading

import pytest

from helpers import wait_until
from sessionpool import ThreadLocalPool
from sessionpool.testing import LocalServer, run_threads


def test_t_threads_open_exactly_t_connections(server: LocalServer) -> None:
    threads, per_thread = 8, 25
    with ThreadLocalPool() as pool:

        def work(_: int) -> None:
            for _ in range(per_thread):
                assert pool.get(server.url + "/").content == b"ok"

        run_threads(threads, work)
        stats = pool.stats()
    assert server.connections_accepted == threads
    assert stats.connections_opened == threads
    assert stats.sessions_created == threads
    assert stats.requests == threads * per_thread
    assert stats.reuse_ratio == 1 - threads / (threads * per_thread)


def test_each_thread_keeps_its_own_session(server: LocalServer) -> None:
    seen: dict[int, set[int]] = {}
    lock = threading.Lock()
    with ThreadLocalPool() as pool:

        def work(index: int) -> None:
            for _ in range(3):
                with pool.session() as session:
                    session.get(server.url + "/")
                    with lock:
                        seen.setdefault(index, set()).add(id(session))

        run_threads(4, work)
    assert all(len(ids) == 1 for ids in seen.values())
    assert len(set.union(*seen.values())) == 4


def test_a_nested_checkout_in_one_thread_shares_the_session(server: LocalServer) -> None:
    with ThreadLocalPool() as pool, pool.session() as outer:
        with pool.session() as inner:
            assert inner is outer
            assert pool.stats().sessions_in_use == 1
        assert pool.get(server.url + "/").content == b"ok"  # a request method inside the block too
        stats = pool.stats()
        assert stats.sessions_in_use == 1
        assert stats.checkouts == 3
        assert stats.sessions_created == 1


def test_a_thread_keeps_its_session_state_between_calls(server: LocalServer) -> None:
    with ThreadLocalPool() as pool:
        with pool.session() as session:
            session.headers["X-Set-By-Thread"] = "yes"
        echoed = pool.get(server.url + "/echo").json()["headers"]
    assert echoed["X-Set-By-Thread"] == "yes"


def test_close_reaches_the_sessions_of_every_thread(server: LocalServer) -> None:
    pool = ThreadLocalPool()
    requested = threading.Barrier(7)
    release = threading.Event()

    def work(_: int) -> None:
        with pool.session() as session:
            session.get(server.url + "/")
        requested.wait(10)
        release.wait(10)  # alive, holding its (idle) session, while the pool closes

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    requested.wait(10)
    try:
        assert server.open_connections == 6
        pool.close()
        stats = pool.stats()
        assert stats.sessions_created == stats.sessions_closed == 6
        assert wait_until(lambda: server.open_connections == 0)
    finally:
        release.set()
        for thread in threads:
            thread.join(10)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors through Linux's /proc")
def test_sessions_of_ended_threads_are_closed_and_leave_no_socket(server: LocalServer) -> None:
    threads, batch = 2000, 50
    with ThreadLocalPool() as pool:
        pool.get(server.url + "/")  # this thread's session, and the server's threads, exist before counting
        before = _open_descriptors()
        for start in range(0, threads, batch):
            run_threads(batch, lambda i, start=start: _one_request(pool, f"{server.url}/t{start + i}"))
        assert wait_until(lambda: pool.stats().sessions_closed == threads)
        stats = pool.stats()
        # The server closes its side when the client's FIN arrives.
        assert wait_until(lambda: _open_descriptors() <= before)
        assert stats.sessions_created == threads + 1
        assert stats.sessions_open == 1  # only this thread's


def _one_request(pool: ThreadLocalPool, url: str) -> None:
    assert pool.get(url).content == b"ok"
