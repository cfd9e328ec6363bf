"""The demo: every client against the local server, with the pools reusing connections."""

from __future__ import annotations

from sessionpool import demo


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
