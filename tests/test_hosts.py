"""Per-host politeness held by every thread of a pool: in flight, rate, delay, Retry-After pauses, AutoThrottle.

Each test counts at real servers on loopback (127.0.0.1 and 127.0.0.2 are
two hosts), from the times the server received each request.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import PoolMaker, on_curl
from sessionpool import AutoThrottle, HostWaitTimeout, PoolClosed, ThreadLocalPool
from sessionpool._config import PoolConfig
from sessionpool._hosts import HostGate
from sessionpool.testing import HostileServer, LocalServer, run_threads

RecordProperty = Callable[[str, object], None]


@pytest.fixture
def second_host() -> Iterator[LocalServer]:
    with LocalServer(host="127.0.0.2") as server:
        yield server


def _received(server: LocalServer, path_prefix: str = "/") -> list[float]:
    return sorted(r.received for r in server.requests if r.path.startswith(path_prefix))


def test_per_host_limit_holds_across_every_thread(
    server: LocalServer, make_pool: PoolMaker, tiny_switch_interval: None, record_property: RecordProperty
) -> None:
    with make_pool(per_host_limit=2) as pool:
        run_threads(32, lambda _: [pool.get(server.url + "/sleep/0.02") for _ in range(2)])
        host = pool.stats().hosts[server.url]
    record_property("peak_in_flight", server.peak_in_flight)
    assert server.peak_in_flight == 2
    assert len(server.requests) == 64
    assert (host.requests, host.in_flight) == (64, 0)
    assert host.waits > 0
    assert host.wait_seconds > 0


def test_a_host_at_its_limit_does_not_hold_up_another_host(
    server: LocalServer, second_host: LocalServer, record_property: RecordProperty
) -> None:
    # 64 requests of 0.05 s, 2 at a time, keep the first host busy for 1.6 s;
    # the second host's 20 quick requests are done long before that.
    seen_by_first_when_second_done: list[int] = []

    def work(index: int) -> None:
        if index < 32:
            for _ in range(2):
                pool.get(server.url + "/sleep/0.05")
        else:
            time.sleep(0.1)  # the first host's queue has formed
            for _ in range(20):
                pool.get(second_host.url + "/quick")
            seen_by_first_when_second_done.append(len(server.requests))

    with ThreadLocalPool(per_host_limit=2) as pool:
        run_threads(33, work)
        stats = pool.stats().hosts
    record_property("peak_in_flight", server.peak_in_flight)
    record_property("first_hosts_requests_when_second_done", seen_by_first_when_second_done[0])
    assert server.peak_in_flight == 2
    assert seen_by_first_when_second_done[0] < 40
    assert stats[second_host.url].waits == 0
    assert stats[server.url].waits > 0


def test_per_host_rate_holds_in_every_one_second_window(
    server: LocalServer, tiny_switch_interval: None, record_property: RecordProperty
) -> None:
    rate, burst, seconds = 20, 5, 3.0

    def work(_: int) -> None:
        began = time.monotonic()
        for _ in range(100):  # bounded; the clock ends it first
            if time.monotonic() - began > seconds:
                return
            pool.get(server.url + "/r")

    with ThreadLocalPool(per_host_rate=rate, per_host_burst=burst) as pool:
        run_threads(16, work)
    times = _received(server)
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    record_property("busiest_one_second_window", busiest)
    record_property("requests", len(times))
    assert busiest <= rate + burst
    assert len(times) >= 2 * rate  # the rate is reached, not starved: about 3 s at 20/s


def test_a_retry_after_pauses_the_host_for_every_thread_and_not_other_hosts(
    server: LocalServer, second_host: LocalServer, record_property: RecordProperty
) -> None:
    observed: list[float] = []
    stop = threading.Event()

    def work(index: int) -> None:
        if index == 0:
            time.sleep(0.3)
            response = pool.get(server.url + "/respond?status=429&header=Retry-After:%201")
            observed.append(time.monotonic())
            assert response.status_code == 429
            time.sleep(1.5)
            stop.set()
            return
        target = second_host.url if index == 1 else server.url
        for _ in range(2000):  # bounded; the stop event ends it first
            if stop.is_set():
                return
            pool.get(target + "/loop")
            time.sleep(0.005)

    with ThreadLocalPool() as pool:
        run_threads(6, work)
        host = pool.stats().hosts[server.url]
    paused = observed[0]
    first = [t for t in _received(server, "/loop") if paused + 0.05 < t < paused + 0.95]
    second = [t for t in _received(second_host, "/loop") if paused + 0.05 < t < paused + 0.95]
    record_property("paused_host_requests_in_pause", len(first))
    record_property("other_host_requests_in_pause", len(second))
    # Requests already on their way when the 429 came back arrive within a few ms; then nothing for 1 s.
    in_flight_then = [t for t in _received(server, "/loop") if paused < t <= paused + 0.05]
    resumed = min((t for t in _received(server, "/loop") if t > paused + 0.05), default=paused) - paused
    record_property("paused_host_requests_already_sent", len(in_flight_then))
    record_property("paused_host_resumed_after_s", round(resumed, 3))
    assert first == []
    assert len(second) >= 10
    assert [t for t in _received(server, "/loop") if t > paused + 1.0]  # the host's requests went on afterwards
    assert host.throttled == 1


def test_a_pause_is_bounded_by_per_host_pause_max_and_off_at_zero(server: LocalServer) -> None:
    asks_for_a_minute = server.url + "/respond?status=503&header=Retry-After:%2060"
    with ThreadLocalPool(per_host_pause_max=0.5) as pool:
        pool.get(asks_for_a_minute)
        assert 0 < pool.stats().hosts[server.url].paused_seconds <= 0.5
    with ThreadLocalPool(per_host_pause_max=0) as pool:
        pool.get(asks_for_a_minute)
        assert pool.stats().hosts[server.url].paused_seconds == 0
        assert pool.get(server.url + "/next").status_code == 200


def test_autothrottle_slows_down_as_the_hosts_latency_rises(
    server: LocalServer, record_property: RecordProperty
) -> None:
    # 4 threads; 1 s of 10 ms answers, then 2.5 s of 200 ms answers. Without
    # AutoThrottle the second phase would see 4 / 0.2 = 20 requests a second;
    # aiming at one request in flight, it sees about 5.
    threads, fast, slow = 4, 1.0, 2.5
    began = time.monotonic()

    def work(_: int) -> None:
        for _ in range(500):  # bounded; the clock ends it first
            elapsed = time.monotonic() - began
            if elapsed > fast + slow:
                return
            pool.get(server.url + ("/sleep/0.01" if elapsed < fast else "/sleep/0.2"))

    with ThreadLocalPool(autothrottle=AutoThrottle(start_delay=0, max_delay=5)) as pool:
        run_threads(threads, work)
        delay = pool.stats().hosts[server.url].delay
    times = _received(server)
    start = times[0]
    fast_rate = sum(1 for t in times if t < start + fast) / fast
    slow_rate = sum(1 for t in times if start + fast + 1.0 <= t < start + fast + slow) / (slow - 1.0)
    record_property("fast_phase_rate", round(fast_rate, 1))
    record_property("slow_phase_rate", round(slow_rate, 1))
    record_property("delay", round(delay, 3))
    assert slow_rate < fast_rate
    assert slow_rate <= threads / 0.2 / 2
    assert delay >= 0.1


def test_a_turn_later_than_per_host_wait_max_raises_host_wait_timeout(server: LocalServer) -> None:
    errors: list[BaseException] = []

    def work(index: int) -> None:
        if index == 0:
            pool.get(server.url + "/sleep/1")
            return
        time.sleep(0.2)
        try:
            pool.get(server.url + "/never")
        except HostWaitTimeout as error:
            errors.append(error)

    with ThreadLocalPool(per_host_limit=1, per_host_wait_max=0.3) as pool:
        run_threads(2, work)
    assert len(errors) == 1
    assert "per_host_wait_max=0.3 s" in str(errors[0])
    assert server.count("GET", "/never") == 0


def test_closing_the_pool_wakes_a_thread_waiting_for_its_host(server: LocalServer) -> None:
    pool = ThreadLocalPool(per_host_rate=0.2)  # one request every 5 s
    pool.get(server.url + "/first")
    outcome: list[BaseException] = []

    def wait_for_turn() -> None:
        try:
            pool.get(server.url + "/second")
        except PoolClosed as error:
            outcome.append(error)

    waiter = threading.Thread(target=wait_for_turn, daemon=True)
    waiter.start()
    time.sleep(0.2)
    pool.close()
    waiter.join(2)
    assert not waiter.is_alive()
    assert len(outcome) == 1
    assert server.count("GET", "/second") == 0


def test_set_host_delay_spaces_out_requests_to_that_host_only(server: LocalServer, second_host: LocalServer) -> None:
    with ThreadLocalPool() as pool:
        pool.set_host_delay(server.url + "/anything", 0.3)
        for _ in range(3):
            pool.get(server.url + "/d")
            pool.get(second_host.url + "/d")
        hosts = pool.stats().hosts
    first = _received(server)
    assert all(later - earlier >= 0.25 for earlier, later in itertools.pairwise(first))
    assert hosts[server.url].delay == 0.3
    assert hosts[second_host.url].delay == 0.0


def test_a_host_is_named_without_the_credentials_or_fragment_of_its_urls(server: LocalServer) -> None:
    address = server.url.partition("://")[2]
    with ThreadLocalPool() as pool:
        pool.get(f"http://user:secret@{address}/echo")
        pool.get(f"HTTP://{address}/echo#part")
        hosts = pool.stats().hosts
    assert list(hosts) == [server.url]
    assert hosts[server.url].requests == 2


def test_the_hosts_kept_are_bounded_and_never_one_in_use() -> None:
    gate = HostGate(PoolConfig())
    held = gate.enter("http://held.example/")
    for index in range(1500):
        gate.leave(gate.enter(f"http://h{index}.example/"), None)
    kept = gate.snapshot()
    assert len(kept) <= 1024
    assert kept["http://held.example"].in_flight == 1
    assert "http://h1499.example" in kept
    gate.leave(held, None)


def _refused_by_libcurl(value: bytes) -> bool:
    """libcurl refuses an answer with a NUL byte in a header line, which urllib3 takes as it comes."""
    return on_curl() and b"\x00" in value


@pytest.mark.parametrize(
    "value",
    [b"\xb2", b"\xb9", b"\xb3", b"\xd9\xa1", b"9" * 400, b"-5", b"1e9", b"Mon, 99 Foo 2024 99:99:99 GMT", b"", b"\x00"],
)
def test_a_retry_after_no_one_can_read_never_holds_the_hosts_slot(hostile: HostileServer, value: bytes) -> None:
    head = b"HTTP/1.1 503 Busy\r\nRetry-After: " + value + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
    url = hostile.raw_url(head, b"no")
    with ThreadLocalPool(per_host_limit=1, per_host_wait_max=2) as pool:
        for _ in range(3):  # with the slot held, the second would wait 2 s and fail
            if _refused_by_libcurl(value):
                with pytest.raises(requests.ConnectionError, match="NUL byte"):
                    pool.get(url)
                continue
            response = pool.get(url)
            assert response.status_code == 503
            assert response.content == b"no"
        host = pool.stats().hosts[hostile.url]
    assert host.in_flight == 0
    assert host.paused_seconds == 0.0
    assert host.requests == 3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.binary(max_size=40).filter(lambda v: not {13, 10} & set(v)), status=st.sampled_from([429, 503]))
def test_any_retry_after_bytes_leave_the_gate_whole(hostile: HostileServer, value: bytes, status: int) -> None:
    head = b"HTTP/1.1 %d Busy\r\nRetry-After: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % (status, value)
    with ThreadLocalPool(per_host_limit=1, per_host_pause_max=0.05, per_host_wait_max=2) as pool:
        for _ in range(2):
            if _refused_by_libcurl(value):
                with pytest.raises(requests.ConnectionError, match="NUL byte"):
                    pool.get(hostile.raw_url(head))
                continue
            assert pool.get(hostile.raw_url(head)).status_code == status
        assert pool.stats().hosts[hostile.url].in_flight == 0
