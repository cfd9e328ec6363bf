"""The demo: every client against the local server, with the pools reusing connections and retrying."""

from __future__ import annotations

import http.client

import pytest

from sessionpool.cli import demo, demo_resilience
from sessionpool.cli.demo import ClientResult
from sessionpool.testing import LocalServer


def test_the_pools_open_no_more_connections_than_threads_or_size() -> None:
    threads, total, size = 4, 60, 2
    results = {result.name: result for result in demo.run(threads=threads, total_requests=total, queue_size=size)}
    assert list(results) == [
        "requests.get",
        "one shared requests.Session",
        "threading.local Session, by hand",
        "ThreadLocalPool",
        f"QueuePool(size={size})",
    ]
    assert all(result.errors == 0 and result.requests == total for result in results.values())
    assert results["requests.get"].connections == total  # one per request
    assert results["ThreadLocalPool"].connections == threads
    assert results[f"QueuePool(size={size})"].connections <= size
    for name in ("ThreadLocalPool", f"QueuePool(size={size})"):
        stats = results[name].pool_stats
        assert stats is not None
        assert stats.requests == total
        assert stats.connections_opened == results[name].connections

    table = demo.format_table(list(results.values()), threads=threads, total_requests=total)
    assert "requests/s" in table
    assert "connections opened" in table
    assert f"QueuePool(size={size})" in table


def test_the_resilience_rounds_server_answers_once_per_connection_then_closes_unanswered() -> None:
    with LocalServer(faults=demo_resilience.CLOSE_ON_REUSE) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", "/first")
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b"ok")
            # The second request goes out on the same, reused, connection (with
            # a body, which the server reads in full before it closes).
            connection.request("POST", "/second", body=b"x" * 1000)
            with pytest.raises(http.client.RemoteDisconnected):
                connection.getresponse()
        finally:
            connection.close()

        # A new connection is answered again: only reuse is punished.
        fresh = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            fresh.request("GET", "/third")
            assert fresh.getresponse().read() == b"ok"
        finally:
            fresh.close()
        requests = server.requests
        assert [(r.path, r.connection, r.answered) for r in requests] == [
            ("/first", 1, True),
            ("/second", 1, False),
            ("/third", 2, True),
        ]
        assert server.connections_broken == 1


def test_the_default_server_keeps_answering_on_a_reused_connection(server: LocalServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/")
            assert connection.getresponse().read() == b"ok"
    finally:
        connection.close()
    assert server.connections_accepted == 1
    assert server.connections_broken == 0


def test_the_resilience_round_fails_the_plain_session_and_not_the_pools() -> None:
    threads, total, size = 2, 30, 1
    results = demo_resilience.run(threads=threads, total_requests=total, queue_size=size)
    by_name = {result.name: result for result in results}
    assert list(by_name) == ["threading.local Session, by hand", "ThreadLocalPool", f"QueuePool(size={size})"]
    assert all(result.requests == total for result in results)

    by_hand = by_name["threading.local Session, by hand"]
    assert by_hand.errors > 0
    assert by_hand.errors == by_hand.closed_on_reuse  # every close under a request failed it
    assert by_hand.connections > 0
    for name in ("ThreadLocalPool", f"QueuePool(size={size})"):
        result = by_name[name]
        stats = result.pool_stats
        assert stats is not None
        assert result.errors == 0
        assert stats.stale_retries > 0
        assert stats.stale_retries == result.closed_on_reuse  # every close under a request was retried
        assert result.connections == stats.connections_opened > 0

    table = demo_resilience.format_table(results, threads=threads, total_requests=total)
    assert "retries" in table
    assert "connections opened" in table
    hand_row = next(line for line in table.splitlines() if line.startswith("threading.local Session, by hand "))
    assert hand_row.split()[-2] == "-"  # no retries column for the plain Session
    assert "POST" in table


def _result(name: str, seconds: float, errors: int = 0, connections: int = 4) -> ClientResult:
    return ClientResult(name, 100, seconds, errors, connections, 0, None)


def test_rounds_report_the_median_rate_and_every_rounds_errors() -> None:
    rounds = [_result("c", 1.0, connections=1), _result("c", 0.5, errors=2, connections=2), _result("c", 0.25)]
    combined = demo.median_result(rounds)
    assert combined.requests_per_second == pytest.approx(200.0)
    assert combined.errors == 2
    assert combined.connections == 2  # the median round's
    assert combined.rounds == 3

    even = demo.median_result([_result("c", 1.0), _result("c", 0.5)])
    assert even.requests_per_second == pytest.approx(150.0)
    assert demo.median_result([_result("c", 1.0)]) == _result("c", 1.0)
    table = demo.format_table([combined], threads=1, total_requests=100)
    assert "requests/s (median of 3)" in table


def test_the_speed_round_runs_several_rounds() -> None:
    results = demo.run(threads=2, total_requests=10, queue_size=1, rounds=2)
    assert len(results) == 5
    assert all(result.rounds == 2 and result.errors == 0 for result in results)
