"""PoolStats arithmetic and StatsRecorder's counting under thread contention."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from sessionpool import HostStats, PoolStats, ProxyStats
from sessionpool._policy import READ, STALE, TRANSIENT
from sessionpool._stats import StatsRecorder
from sessionpool.testing import run_threads


def _stats(**changes: int | float) -> PoolStats:
    figures = ("hosts", "proxies")
    values: dict[str, int | float] = {f.name: 0 for f in dataclasses.fields(PoolStats) if f.name not in figures}
    values["checkout_wait_seconds_max"] = 0.0
    values.update(changes)
    return PoolStats(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requests", "connections", "expected"),
    [
        (0, 0, 0.0),
        (0, 3, 0.0),
        (100, 4, 0.96),
        (10, 10, 0.0),
        (10, 1, 0.9),
        (4, 8, 0.0),
    ],
)
def test_reuse_ratio(requests: int, connections: int, expected: float) -> None:
    reused = max(0, requests - connections)
    ratio = _stats(requests=requests, requests_reused=reused, connections_opened=connections).reuse_ratio
    assert ratio == pytest.approx(expected)
    assert ratio >= 0.0


def test_sessions_open() -> None:
    assert _stats(sessions_created=7, sessions_closed=3).sessions_open == 4
    assert _stats().sessions_open == 0


def test_stats_are_frozen() -> None:
    stats = _stats()
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.requests = 1  # type: ignore[misc]


def test_combine_merges_the_figures_of_each_host() -> None:
    def host(requests: int, delay: float) -> HostStats:
        return HostStats(
            requests=requests, in_flight=1, waits=1, wait_seconds=0.5, throttled=1, paused_seconds=delay, delay=delay
        )

    one = dataclasses.replace(_stats(requests=3), hosts={"http://a": host(3, 1.0)})
    two = dataclasses.replace(_stats(requests=5), hosts={"http://a": host(4, 2.0), "http://b": host(1, 0.0)})
    combined = PoolStats.combine([one, two])
    assert combined.requests == 8
    assert combined.hosts["http://a"] == HostStats(
        requests=7, in_flight=2, waits=2, wait_seconds=1.0, throttled=2, paused_seconds=2.0, delay=2.0
    )
    assert combined.hosts["http://b"] == host(1, 0.0)


def test_combine_merges_the_figures_of_each_proxy() -> None:
    def proxy(requests: int, benched_seconds: float) -> ProxyStats:
        return ProxyStats(requests=requests, failures=1, benched=1, sessions=2, benched_seconds=benched_seconds)

    one = dataclasses.replace(_stats(), proxies={"http://127.0.0.1:3128": proxy(3, 0.0)})
    two = dataclasses.replace(
        _stats(), proxies={"http://127.0.0.1:3128": proxy(4, 12.5), "socks5h://127.0.0.1:1080": proxy(1, 0.0)}
    )
    combined = PoolStats.combine([one, two])
    assert combined.proxies == {
        "http://127.0.0.1:3128": ProxyStats(requests=7, failures=2, benched=2, sessions=4, benched_seconds=12.5),
        "socks5h://127.0.0.1:1080": proxy(1, 0.0),
    }
    assert PoolStats.combine([]).proxies == {}
    assert _stats().proxies == {}  # no rotation: no figures


def test_new_recorder_snapshot_is_all_zero() -> None:
    assert StatsRecorder().snapshot() == _stats()


@pytest.mark.parametrize(
    ("method", "counter"),
    [
        ("request_sent", "requests"),
        ("connection_opened", "connections_opened"),
        ("session_created", "sessions_created"),
        ("session_replaced", "sessions_replaced"),
        ("not_retried_unsafe", "unsafe_not_retried"),
    ],
)
def test_counting_waits_for_the_lock(method: str, counter: str) -> None:
    # On a GIL build an unlocked ``+= 1`` on a slot does not lose updates, so
    # the contention test below cannot show a missing lock; this one does.
    recorder = StatsRecorder()
    thread = threading.Thread(target=getattr(recorder, method), daemon=True)
    with recorder._lock:
        thread.start()
        thread.join(timeout=0.2)
        assert thread.is_alive(), f"{method}() did not wait for the recorder's lock"
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert getattr(recorder.snapshot(), counter) == 1


def test_counts_are_exact_under_contention(tiny_switch_interval: None) -> None:
    threads_count, calls = 16, 2_000
    recorder = StatsRecorder()

    def work(_: int) -> None:
        for _ in range(calls):
            recorder.request_sent()
            recorder.connection_opened()

    run_threads(threads_count, work)

    snapshot = recorder.snapshot()
    assert snapshot.requests == threads_count * calls == 32_000
    assert snapshot.connections_opened == threads_count * calls
    assert snapshot.reuse_ratio == 0.0


def test_retries_are_counted_by_reason() -> None:
    recorder = StatsRecorder()
    recorder.retried(STALE)
    recorder.retried(STALE)
    recorder.retried(STALE)
    recorder.retried(TRANSIENT)
    recorder.retried(READ)
    recorder.retried(READ)
    recorder.not_retried_unsafe()
    recorder.connections_discarded(3)
    snapshot = recorder.snapshot()
    assert (snapshot.stale_retries, snapshot.transient_retries, snapshot.read_retries) == (3, 1, 2)
    assert snapshot.unsafe_not_retried == 1
    assert snapshot.idle_connections_discarded == 3


def test_requests_are_counted_with_their_reuse() -> None:
    recorder = StatsRecorder()
    recorder.request_sent(reused=False)
    recorder.request_sent(reused=True)
    recorder.request_sent(reused=True)
    snapshot = recorder.snapshot()
    assert (snapshot.requests, snapshot.requests_reused) == (3, 2)
    assert snapshot.reuse_ratio == pytest.approx(2 / 3)


def test_the_reasons_are_the_words_listeners_and_logs_see() -> None:
    assert (STALE, TRANSIENT, READ) == ("stale", "transient", "read")


def test_an_unknown_retry_reason_is_refused_not_counted_as_another() -> None:
    recorder = StatsRecorder()
    with pytest.raises(ValueError, match=r"'sideways'.*'stale', 'transient' or 'read'"):
        recorder.retried("sideways")  # type: ignore[arg-type]
    snapshot = recorder.snapshot()
    assert (snapshot.stale_retries, snapshot.transient_retries, snapshot.read_retries) == (0, 0, 0)


def test_the_pool_reports_through_methods_that_change_what_belongs_together() -> None:
    recorder = StatsRecorder()
    recorder.session_created()
    recorder.checked_out(first_lease=True)
    recorder.checked_out(first_lease=False)  # a nested lease on the same session
    recorder.checkout_waited(0.25, timed_out=False)
    recorder.checkout_waited(0.5, timed_out=True)
    recorder.checkout_waited(0.1, timed_out=False)
    snapshot = recorder.snapshot()
    assert (snapshot.checkouts, snapshot.sessions_in_use) == (2, 1)
    assert (snapshot.checkout_wait_seconds_max, snapshot.checkout_timeouts) == (0.5, 1)
    recorder.released()
    recorder.sessions_retired(1)
    snapshot = recorder.snapshot()
    assert (snapshot.sessions_in_use, snapshot.sessions_open) == (0, 0)
