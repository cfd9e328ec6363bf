"""The resilience round of ``sessionpool demo``: a server that closes connections just as they are reused.

A server with a short keep-alive idle timeout may close a connection at the
very moment a client reuses it: the request goes out, and the connection
dies under it without a response (``RemoteDisconnected``). The round's local
server (``ServerProcess(faults=Faults(after=1))`` of :mod:`sessionpool.testing`)
provokes that race on every reuse: it answers the first request on each
connection, and closes the connection unanswered when the next one arrives.

The same GETs go through a hand-rolled per-thread ``requests.Session``, which
surfaces each such close as an error, and through both pools with their
default :class:`~sessionpool.RetryPolicy`, which retries the GETs (safe to
send twice) on a new connection.
"""

from __future__ import annotations

from sessionpool.cli.demo_harness import ClientResult, measure_hand_rolled_and_pools, table
from sessionpool.testing import Faults, ServerProcess

#: The round's server: one response per connection, then a close (FIN) as the next request arrives.
CLOSE_ON_REUSE = Faults(after=1, on="request", how="fin")

__all__ = ["CLOSE_ON_REUSE", "format_table", "run"]


def run(*, threads: int, total_requests: int, queue_size: int) -> list[ClientResult]:
    """Send ``total_requests`` GETs from ``threads`` threads through each client in turn, against reuse closes.

    The clients are the hand-rolled per-thread Session, then both pools; the
    server closes every connection as it is reused.
    """
    with ServerProcess(faults=CLOSE_ON_REUSE) as server:
        return measure_hand_rolled_and_pools(server, server.url + "/", threads, total_requests, queue_size)


def format_table(results: list[ClientResult], *, threads: int, total_requests: int) -> str:
    """The resilience round's results as a table, with a few lines on what they mean."""
    header = ("client", "requests", "errors", "retries", "connections opened")
    rows = [
        (
            r.name,
            f"{r.requests:,}",
            f"{r.errors:,}",
            f"{r.pool_stats.stale_retries:,}" if r.pool_stats is not None else "-",
            f"{r.connections:,}",
        )
        for r in results
    ]
    out = [
        f"Resilience: {total_requests:,} GETs from {threads} threads to a local server on 127.0.0.1"
        " that closes every keep-alive connection just as it is reused",
        "",
        *table(header, rows),
        "",
        "The server answered the first request on each connection and closed the connection, unanswered,"
        " when the next request arrived on it: the race a server with a short idle timeout causes.",
    ]
    for result in results:
        closed = f"{result.name}: the server closed {result.closed_on_reuse:,} reused connections under its requests"
        if result.pool_stats is None:
            out.append(
                f"{closed}; a plain Session surfaces each as an error"
                f" (requests.ConnectionError: RemoteDisconnected): {result.errors:,} failed requests."
            )
        else:
            out.append(
                f"{closed}; the pool retried {result.pool_stats.stale_retries:,} GETs on a new connection"
                f" (pool.stats().stale_retries): {result.errors:,} failed requests."
            )
    out.append(
        "Retrying a GET is safe: it is idempotent, so sending it twice has the effect of sending it once."
        " The pools retry only requests safe to send twice (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or any"
        " with an Idempotency-Key header): a POST would have failed as the plain Session's requests did,"
        " and never been sent twice."
    )
    return "\n".join(out)
