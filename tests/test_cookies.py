"""SharedCookieJar: one cookie jar that the sessions of many threads share."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
import requests
from requests.cookies import RequestsCookieJar, create_cookie, merge_cookies

from sessionpool import QueuePool, ThreadLocalPool
from sessionpool._base import Pool
from sessionpool._cookies import SharedCookieJar
from sessionpool.testing import LocalServer, run_threads

WRITERS = READERS = 16
PER_WRITER = 50
MAX_READS = 100_000  # per reader: the readers stop once the writers are done, or after this many


def test_iterating_works_on_the_cookies_there_when_it_began() -> None:
    jar = SharedCookieJar()
    jar.set("first", "1")
    cookies = iter(jar)
    jar.set("second", "2", domain="other.example")
    assert [cookie.name for cookie in cookies] == ["first"]
    assert sorted(cookie.name for cookie in jar) == ["first", "second"]


def test_iteration_waits_for_a_write_in_progress() -> None:
    jar = SharedCookieJar()
    locked, reading = threading.Event(), threading.Event()
    order: list[str] = []

    def work(index: int) -> None:
        if index == 0:
            with jar._cookies_lock:  # held by set_cookie, clear, extract_cookies while they write
                locked.set()
                assert reading.wait(5)
                time.sleep(0.1)  # a plain jar's reader would be done by now
                jar.set_cookie(create_cookie("late", "1"))
                order.append("write")
        else:
            assert locked.wait(5)
            reading.set()
            names = [cookie.name for cookie in jar]
            order.append("read")
            assert names == ["late"]

    run_threads(2, work)
    assert order == ["write", "read"]


def test_readers_and_writers_of_one_jar_never_collide_and_nothing_is_lost(tiny_switch_interval: None) -> None:
    jar = SharedCookieJar()
    lock = threading.Lock()
    writers_left = [WRITERS]
    writers_done = threading.Event()
    partial_views: list[int] = []

    def write(index: int) -> None:
        for n in range(PER_WRITER):
            jar.set_cookie(create_cookie(f"c{index}_{n}", f"v{index}_{n}"))
        with lock:
            writers_left[0] -= 1
            if not writers_left[0]:
                writers_done.set()

    def read() -> None:
        seen = 0  # only writes happen: each view holds at least what the one before held
        for _ in range(MAX_READS):
            if writers_done.is_set():
                return
            cookies = list(jar)
            assert len(cookies) >= seen
            assert all(cookie.value == "v" + cookie.name[1:] for cookie in cookies)
            as_dict = jar.get_dict()
            assert len(as_dict) >= len(cookies)
            merged = merge_cookies(RequestsCookieJar(), jar)
            assert len(merged) >= len(as_dict)
            seen = len(jar)
            assert seen >= len(merged)
            if cookies:
                assert cookies[-1].name in jar
                assert jar.get(cookies[-1].name) == cookies[-1].value
                if seen < WRITERS * PER_WRITER:
                    partial_views.append(seen)
            assert "absent" not in jar
            assert jar.get("absent") is None

    run_threads(WRITERS + READERS, lambda index: write(index) if index < WRITERS else read())
    assert writers_done.is_set()
    assert partial_views, "no reader ran while the writers wrote: the test proved nothing"
    names = Counter(cookie.name for cookie in jar)
    expected = {f"c{i}_{n}" for i in range(WRITERS) for n in range(PER_WRITER)}
    assert set(names) == expected
    assert set(names.values()) == {1}
    assert jar.get_dict() == {name: "v" + name[1:] for name in expected}


POOLS: list[Callable[[], Pool]] = [
    lambda: QueuePool(size=4, share_cookies=True),
    lambda: ThreadLocalPool(share_cookies=True),
]


@pytest.mark.parametrize("make_pool", POOLS, ids=["QueuePool", "ThreadLocalPool"])
def test_a_cookie_set_through_one_session_is_sent_by_every_thread(
    server: LocalServer, make_pool: Callable[[], Pool]
) -> None:
    with make_pool() as pool:
        jar = pool.cookies
        assert isinstance(jar, SharedCookieJar)
        with pool.session() as session:
            assert session.cookies is jar
            session.cookies.set("login", "ok", domain="127.0.0.1", path="/")
        held: list[requests.Session] = []
        holding = threading.Barrier(4)

        def work(index: int) -> None:
            if index < 4:  # four sessions lent at once: four distinct sessions send
                with pool.session() as session:
                    held.append(session)
                    holding.wait(10)
                    assert "login=ok" in session.get(server.url + "/echo").json()["headers"]["Cookie"]
            for _ in range(3):
                assert "login=ok" in pool.get(server.url + "/echo").json()["headers"]["Cookie"]

        run_threads(8, work)
        assert len({id(session) for session in held}) == 4
        assert all(session.cookies is jar for session in held)
    assert sum("login=ok" in request.headers.get("Cookie", "") for request in server.requests) == 4 + 8 * 3


def test_without_share_cookies_each_session_has_its_own_jar() -> None:
    with ThreadLocalPool() as local:
        assert local.cookies is None
    with QueuePool(size=2) as pool:
        assert pool.cookies is None
        with pool.session() as first, pool.session() as second:
            assert first.cookies is not second.cookies
            assert not isinstance(first.cookies, SharedCookieJar)
            first.cookies.set("login", "ok")
            assert "login" not in second.cookies


def test_the_shared_jar_is_not_cleared_when_a_session_comes_back(server: LocalServer) -> None:
    with QueuePool(size=1, share_cookies=True) as pool:
        with pool.session() as first:
            first.cookies.set("login", "ok")
            first.headers["X-Borrower"] = "A"
        with pool.session() as second:
            assert second is first
            assert "X-Borrower" not in second.headers  # the session was reset...
            assert second.cookies is pool.cookies  # ...but its jar is still the pool's
            assert second.cookies.get("login") == "ok"
            echoed = second.get(server.url + "/echo").json()["headers"]
    assert echoed["Cookie"] == "login=ok"
    assert "X-Borrower" not in echoed


def test_removing_one_cookie_from_many_threads_at_once_never_raises(tiny_switch_interval: None) -> None:
    # set(name, None) looks the cookie up and then removes it; without one
    # lock around both steps, a second remover finds it gone (KeyError).
    jar = SharedCookieJar()
    for round_ in range(200):
        jar.set("token", str(round_))
        run_threads(4, lambda _: jar.set("token", None))
        assert "token" not in jar
