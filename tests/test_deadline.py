"""PoolConfig.deadline against servers that trickle and stall: one clock for a whole request, kept on the wire."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from helpers import PoolMaker, wait_until
from sessionpool import DeadlineExceeded, PoolConfig, PoolError, QueuePool, RetryPolicy, ThreadLocalPool
from sessionpool._deadline import WATCHDOG, Deadline, clamp_timeout
from sessionpool.testing import HostileServer, LocalServer

#: How late past its deadline a request may end: the watchdog wakes at the
#: deadline itself, and the reading thread then needs a scheduler turn (on a
#: loaded machine of 2 cores, that can take a while; here they take ~2 ms).
SLACK = 1.0


def _timed(call: Any) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except BaseException as error:
        return error, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize("stream", [False, True])
def test_a_trickling_body_ends_at_the_deadline(make_pool: PoolMaker, hostile: HostileServer, stream: bool) -> None:
    url = hostile.url + "/trickle?size=1000000&chunk=1&interval=0.1"  # a byte every 0.1 s: a read timeout never fires

    def get() -> None:
        response = pool.get(url, stream=stream)
        for _ in response.iter_content(1024):
            pass

    with make_pool(deadline=1.0, timeout=(5, 5)) as pool:
        error, took = _timed(get)
        assert isinstance(error, DeadlineExceeded), error
        assert 1.0 <= took < 1.0 + SLACK
        assert error.deadline == 1.0
        assert isinstance(error, requests.Timeout)
        assert isinstance(error, PoolError)
        assert "deadline of 1 s" in str(error)
        assert wait_until(lambda: WATCHDOG.watching() == 0)
        assert all(host.in_flight == 0 for host in pool.stats().hosts.values())
        # The cut connection is not reused: the next request works on a new one.
        assert pool.get(hostile.url + "/ok").text == "ok"


def test_a_head_that_never_ends_ends_at_the_deadline(make_pool: PoolMaker, hostile: HostileServer) -> None:
    with make_pool(deadline=1.0, timeout=(5, 5)) as pool:
        error, took = _timed(lambda: pool.get(hostile.url + "/slowloris?interval=0.1"))
    assert isinstance(error, DeadlineExceeded), error
    assert 1.0 <= took < 1.0 + SLACK


def test_a_chunked_body_that_never_ends_ends_at_the_deadline(hostile: HostileServer) -> None:
    with ThreadLocalPool(deadline=1.0, timeout=(5, 5)) as pool:
        response = pool.get(hostile.url + "/trickle-chunked?chunk=10&interval=0.1", stream=True)
        received: list[bytes] = []
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            received.extend(response.iter_content(None))
        assert received  # the body did flow until the cut
        assert time.monotonic() - started < 1.0 + SLACK


def test_a_silent_server_ends_at_the_deadline_not_the_read_timeout(hostile: HostileServer) -> None:
    with QueuePool(size=1, deadline=0.8, timeout=(10, 30)) as pool:
        error, took = _timed(lambda: pool.get(hostile.url + "/silent-head"))
    # The read timeout, cut to what the deadline left, and the watchdog end it at the same moment.
    assert isinstance(error, DeadlineExceeded), error
    assert isinstance(error.__cause__, (requests.ReadTimeout, requests.ConnectionError))
    assert 0.8 <= took < 0.8 + SLACK


def test_redirect_hops_share_one_deadline(server: LocalServer) -> None:
    def slow_hop(response: requests.Response, **kwargs: Any) -> None:
        time.sleep(0.5)  # each hop's answer is slow to come back

    with ThreadLocalPool(deadline=1.2) as pool:
        error, took = _timed(lambda: pool.get(server.url + "/redirect/5", hooks={"response": [slow_hop]}))
    assert isinstance(error, DeadlineExceeded), error
    hops = sum(1 for r in server.requests if r.path.startswith("/redirect/") or r.path == "/")
    assert hops == 3  # sent at 0, 0.5 and 1.0 s; the fourth would have started after the deadline: not sent
    assert took < 1.2 + 0.5 + SLACK  # without one clock for all hops, 6 hops of 0.5 s would take 3 s


def test_replays_share_the_deadline_and_no_wait_outlives_it() -> None:
    with LocalServer(statuses={"/busy": [503] * 10}, retry_after="5") as busy:
        policy = RetryPolicy(retry_transient=True, transient_attempts=5, retry_after_max=5)
        with ThreadLocalPool(deadline=1.0, retry=policy) as pool:
            error, took = _timed(lambda: pool.get(busy.url + "/busy"))
        assert isinstance(error, DeadlineExceeded), error
        assert 1.0 <= took < 1.0 + SLACK  # the 5 s Retry-After wait was cut to the deadline
        assert busy.count("GET", "/busy") == 1  # the replay would have gone after the deadline: not sent


def test_waiting_for_a_hosts_turn_counts_and_sends_nothing(server: LocalServer) -> None:
    with QueuePool(size=2, per_host_delay=2.0, deadline=0.5) as pool:
        assert pool.get(server.url + "/first").status_code == 200
        error, took = _timed(lambda: pool.get(server.url + "/second"))  # its turn comes 2 s after the first
        stats = pool.stats().hosts[server.url]
    assert isinstance(error, DeadlineExceeded), error
    assert took < 0.5 + SLACK
    assert server.count("GET", "/second") == 0
    assert stats.in_flight == 0


def test_a_request_within_its_deadline_is_untouched(make_pool: PoolMaker, server: LocalServer) -> None:
    with make_pool(deadline=5.0) as pool:
        for _ in range(20):
            assert pool.get(server.url + "/echo").json()["path"] == "/echo"
        streamed = pool.get(server.url + "/sleep/0.2", stream=True)
        assert streamed.content == b"ok"
        stats = pool.stats()
    assert stats.requests == 21
    assert stats.connections_opened == 1  # a deadline does not cost connection reuse
    assert WATCHDOG.watching() == 0


def test_without_a_deadline_nothing_is_watched(server: LocalServer) -> None:
    with ThreadLocalPool() as pool:
        response = pool.get(server.url + "/sleep/0.3", stream=True)
        assert WATCHDOG.watching() == 0
        response.close()


def test_a_stream_read_after_the_deadline_raises_it(hostile: HostileServer) -> None:
    with ThreadLocalPool(deadline=0.6, timeout=(5, 5)) as pool:
        response = pool.get(hostile.url + "/trickle?size=100&chunk=1&interval=0.05", stream=True)
        time.sleep(1.0)  # the caller dawdles: the deadline passes before the body is read
        with pytest.raises(DeadlineExceeded):
            response.content  # noqa: B018


def test_deadlines_under_thread_stress(hostile: HostileServer, server: LocalServer, tiny_switch_interval: None) -> None:
    """16 threads, half on trickling answers cut by their deadline, half on quick ones that must never be cut."""
    slow_url = hostile.url + "/trickle?size=1000&chunk=1&interval=0.05"  # 50 s in all
    outcomes: dict[str, list[str]] = {"slow": [], "quick": []}
    lock = threading.Lock()

    def work(kind: str) -> None:
        for _ in range(2 if kind == "slow" else 40):
            try:
                if kind == "slow":
                    pool.get(slow_url).content  # noqa: B018
                    outcome = "done"
                else:
                    outcome = "done" if pool.get(server.url + "/echo").json()["path"] == "/echo" else "wrong"
            except DeadlineExceeded:
                outcome = "deadline"
            except Exception as error:  # recorded: the test fails on it
                outcome = type(error).__name__
            with lock:
                outcomes[kind].append(outcome)

    with ThreadLocalPool(deadline=1.5, timeout=(5, 5)) as pool:  # a quick one takes far less, even at 1 us
        threads = [threading.Thread(target=work, args=("slow" if i % 2 else "quick",)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        hosts = pool.stats().hosts
    assert outcomes["slow"] == ["deadline"] * 16
    assert outcomes["quick"] == ["done"] * 320  # no quick request was cut by another's deadline
    assert wait_until(lambda: WATCHDOG.watching() == 0)
    assert all(host.in_flight == 0 for host in hosts.values())


def test_clamp_timeout_cuts_each_part_to_what_is_left() -> None:
    deadline = Deadline(2.0)
    connect, read = clamp_timeout((10.0, None), deadline)
    assert 1.9 < connect <= 2.0
    assert 1.9 < read <= 2.0
    assert clamp_timeout((0.5, 1.5), deadline) == (0.5, 1.5)
    assert clamp_timeout(None, deadline)[0] <= 2.0
    expired = Deadline(0.01)
    time.sleep(0.02)
    with pytest.raises(DeadlineExceeded):
        clamp_timeout(5.0, expired)


def test_the_deadline_is_checked_when_the_config_is_made() -> None:
    with pytest.raises(ValueError, match=r"PoolConfig\.deadline must be a finite number of seconds > 0"):
        PoolConfig(deadline=-1)
