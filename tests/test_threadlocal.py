"""ThreadLocalPool: a session per thread, every one tracked."""

from __future__ import annotations

import threading

from helpers import run_threads, wait_until
from sessionpool import ThreadLocalPool
from sessionpool._localserver import LocalServer


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
