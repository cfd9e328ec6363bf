"""QueuePool: a bounded set of sessions, lent most recently returned first."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from sessionpool import LeaseError, PoolClosed, PoolTimeout, QueuePool
from sessionpool.testing import LocalServer, run_threads


def test_more_threads_than_sessions_open_at_most_size_connections(server: LocalServer) -> None:
    threads, size, per_thread = 8, 3, 20
    with QueuePool(size=size) as pool:

        def work(_: int) -> None:
            for _ in range(per_thread):
                assert pool.get(server.url + "/").content == b"ok"

        run_threads(threads, work)
        stats = pool.stats()
    assert stats.sessions_created <= size
    assert server.connections_accepted <= size
    assert stats.connections_opened == server.connections_accepted
    assert stats.requests == threads * per_thread
    assert stats.checkouts == threads * per_thread


def test_the_most_recently_returned_session_is_lent_first() -> None:
    with QueuePool(size=3) as pool:
        with pool.session() as first, pool.session() as second:
            assert first is not second
        # second came back last
        with pool.session() as again:
            assert again is first
        with pool.session() as a, pool.session() as b:
            assert {id(a), id(b)} == {id(first), id(second)}


def test_a_checkout_times_out_when_every_session_is_out() -> None:
    with QueuePool(size=1, checkout_timeout=0.2) as pool, pool.session():
        outcome: list[BaseException] = []

        def borrow(_: int) -> None:
            try:
                with pool.session():
                    pass
            except PoolTimeout as exc:
                outcome.append(exc)

        run_threads(1, borrow)
        stats = pool.stats()
    assert len(outcome) == 1
    error = outcome[0]
    assert isinstance(error, PoolTimeout)
    assert error.checkout_timeout == 0.2
    assert error.waited >= 0.2
    assert "size=1" in str(error)
    assert "QueuePool" in error.pool
    assert stats.checkout_timeouts == 1
    assert stats.checkout_wait_seconds_max >= 0.2


def test_a_zero_checkout_timeout_fails_at_once() -> None:
    outcome: list[BaseException] = []

    def borrow(_: int) -> None:
        try:
            pool.session().__enter__()
        except PoolTimeout as exc:
            outcome.append(exc)

    with QueuePool(size=1, checkout_timeout=0) as pool, pool.session():
        started = time.monotonic()
        run_threads(1, borrow)
        assert time.monotonic() - started < 5
    assert len(outcome) == 1


def test_a_nested_checkout_that_could_never_be_served_fails_at_once() -> None:
    with QueuePool(size=2, checkout_timeout=30) as pool, pool.session(), pool.session():
        started = time.monotonic()
        with pytest.raises(LeaseError, match="already holds all 2 sessions"):
            pool.session().__enter__()
        assert time.monotonic() - started < 5  # not after the 30 s checkout timeout


def test_a_waiting_checkout_gets_the_session_that_comes_back() -> None:
    with QueuePool(size=1, checkout_timeout=10) as pool:
        holding = threading.Event()
        got: list[requests.Session] = []

        def hold() -> requests.Session:
            with pool.session() as session:
                holding.set()
                time.sleep(0.2)
                return session

        def wait(_: int) -> None:
            holding.wait(5)
            with pool.session() as session:
                got.append(session)

        waiter = threading.Thread(target=wait, args=(0,))
        waiter.start()
        held = hold()
        waiter.join(10)
        stats = pool.stats()
    assert not waiter.is_alive()
    assert got == [held]
    assert stats.sessions_created == 1
    assert stats.checkout_timeouts == 0
    assert stats.checkout_wait_seconds_max > 0


def test_waiters_are_served_in_arrival_order() -> None:
    with QueuePool(size=1, checkout_timeout=10) as pool:
        order: list[int] = []
        lease = pool.session()
        lease.__enter__()
        waiters = []
        for index in range(4):
            thread = threading.Thread(target=lambda i=index: _borrow_and_note(pool, i, order))
            thread.start()
            waiters.append(thread)
            deadline = time.monotonic() + 5
            while len(pool._waiters) < index + 1 and time.monotonic() < deadline:
                time.sleep(0.005)
        lease.__exit__(None, None, None)
        for thread in waiters:
            thread.join(10)
    assert order == [0, 1, 2, 3]


def _borrow_and_note(pool: QueuePool, index: int, order: list[int]) -> None:
    with pool.session():
        order.append(index)


def test_close_wakes_waiting_checkouts_with_pool_closed() -> None:
    pool = QueuePool(size=1, checkout_timeout=30)
    outcome: list[BaseException] = []
    lease = pool.session()
    lease.__enter__()

    def wait() -> None:
        try:
            with pool.session():
                pass
        except PoolClosed as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    deadline = time.monotonic() + 5
    while not pool._waiters and time.monotonic() < deadline:
        time.sleep(0.005)
    started = time.monotonic()
    pool.close()
    waiter.join(10)
    assert not waiter.is_alive()
    assert time.monotonic() - started < 5  # woken by close(), not by the 30 s timeout
    assert len(outcome) == 1
    lease.__exit__(None, None, None)
    assert pool.stats().sessions_closed == 1


def test_a_failing_factory_gives_its_slot_back(server: LocalServer) -> None:
    calls = 0

    def flaky() -> requests.Session:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("no session this time")
        return requests.Session()

    with QueuePool(size=1, checkout_timeout=0, session_factory=flaky) as pool:
        with pytest.raises(OSError, match="no session this time"):
            pool.get(server.url + "/")
        assert pool.get(server.url + "/").content == b"ok"
        assert pool.stats().sessions_created == 1


@pytest.mark.parametrize(
    ("arguments", "error", "field"),
    [
        ({"size": 0}, ValueError, "QueuePool.size"),
        ({"size": 2.0}, TypeError, "QueuePool.size"),
        ({"size": True}, TypeError, "QueuePool.size"),
        ({"checkout_timeout": -1}, ValueError, "QueuePool.checkout_timeout"),
        ({"checkout_timeout": float("nan")}, ValueError, "QueuePool.checkout_timeout"),
        ({"checkout_timeout": "5"}, TypeError, "QueuePool.checkout_timeout"),
        ({"checkout_timeout": None}, TypeError, "QueuePool.checkout_timeout"),
    ],
)
def test_bad_arguments_are_named(arguments: dict[str, object], error: type[Exception], field: str) -> None:
    with pytest.raises(error, match=field):
        QueuePool(**arguments)  # type: ignore[arg-type]


def test_size_and_checkout_timeout_are_readable() -> None:
    with QueuePool(size=2, checkout_timeout=1.5) as pool:
        assert (pool.size, pool.checkout_timeout) == (2, 1.5)
        assert "size=2" in repr(pool)


class _Stubborn(requests.Session):
    """A session whose settings a borrower can lock, so the pool cannot reset them."""

    locked = False

    def __setattr__(self, name: str, value: object) -> None:
        if self.locked and name == "verify":
            raise RuntimeError("verify is fixed once locked")
        super().__setattr__(name, value)


def _nothing_more_to_reset(session: requests.Session) -> None:
    """A reset hook for a class whose only state of its own is harmless."""


def test_a_session_that_cannot_be_reset_is_closed_not_lent_again(caplog: pytest.LogCaptureFixture) -> None:
    # With a reset hook the pool resets (rather than replaces) the session;
    # the reset fails, so the session is retired.
    pool = QueuePool(size=1, checkout_timeout=1, session_factory=_Stubborn, reset_session=_nothing_more_to_reset)
    with pool:
        with pool.session() as session:
            session.locked = True  # type: ignore[attr-defined]
        with pool.session() as again:  # the slot came back: no PoolTimeout
            assert again is not session
        assert pool.stats().sessions_closed == 1
    assert "could not reset a returned session" in caplog.text


class _TokenSession(requests.Session):
    """A session class with state of its own: a bearer token it sends with every request."""

    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if self.token is not None:
            kwargs.setdefault("headers", {})["Authorization"] = f"Bearer {self.token}"
        return super().request(method, url, *args, **kwargs)


def _authorizations(server: LocalServer) -> list[str | None]:
    return [request.headers.get("Authorization") for request in server.requests]


def test_a_subclass_token_never_reaches_the_next_borrower(server: LocalServer) -> None:
    with QueuePool(size=1, session_factory=_TokenSession) as pool:
        with pool.session() as first:
            first.token = "alice"  # type: ignore[attr-defined]
            first.get(server.url + "/")
        with pool.session() as second:
            assert second.token is None  # type: ignore[attr-defined]
            second.get(server.url + "/")
        stats = pool.stats()
    assert _authorizations(server) == ["Bearer alice", None]
    # Replaced, not reset: a new session from the factory, on the same connection.
    assert second is not first
    assert (stats.sessions_created, stats.sessions_replaced, stats.connections_opened) == (1, 1, 1)
    assert server.connections_accepted == 1


def test_an_attribute_a_borrower_added_to_a_plain_session_makes_it_replaced(server: LocalServer) -> None:
    with QueuePool(size=1) as pool:
        with pool.session() as first:
            first.secret = "left behind"  # type: ignore[attr-defined]
        with pool.session() as second:
            assert not hasattr(second, "secret")
        with pool.session() as third:
            pass  # the plain session came back untouched: reset, not replaced
        assert third is second
        assert pool.stats().sessions_replaced == 1


def test_an_adapter_a_borrower_mounted_never_reaches_the_next(server: LocalServer) -> None:
    with QueuePool(size=1) as pool:
        with pool.session() as first:
            first.mount(server.url + "/private", requests.adapters.HTTPAdapter())
        with pool.session() as second:
            assert server.url + "/private" not in second.adapters
        assert pool.stats().sessions_replaced == 1


def test_a_reset_hook_keeps_a_subclass_session(server: LocalServer) -> None:
    def forget_token(session: requests.Session) -> None:
        session.token = None  # type: ignore[attr-defined]

    with QueuePool(size=1, session_factory=_TokenSession, reset_session=forget_token) as pool:
        with pool.session() as first:
            first.token = "alice"  # type: ignore[attr-defined]
            first.get(server.url + "/")
        with pool.session() as second:
            second.get(server.url + "/")
        assert second is first
        assert pool.stats().sessions_replaced == 0
    assert _authorizations(server) == ["Bearer alice", None]


def test_a_reset_hook_needs_reset_on_return() -> None:
    with pytest.raises(ValueError, match=r"QueuePool\.reset_session"):
        QueuePool(reset_on_return=False, reset_session=_nothing_more_to_reset)
    with pytest.raises(TypeError, match=r"QueuePool\.reset_session"):
        QueuePool(reset_session="yes")  # type: ignore[arg-type]
