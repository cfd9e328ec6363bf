"""``sessionpool demo``: plain requests and both pools, for speed and against a server that drops connections.

Two rounds, each against the test server of :mod:`sessionpool.testing` on
127.0.0.1, in a process of its own (:class:`~sessionpool.testing.ServerProcess`):

- the speed round (this module): one workload (GETs spread over worker
  threads) through each client in turn; the server counts the connections
  each client opened;
- the resilience round (:mod:`sessionpool.cli.demo_resilience`): the same kind
  of workload against a server that closes every connection just as it is
  reused.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

import requests

from sessionpool.cli import demo_resilience
from sessionpool.cli.arguments import positive_int
from sessionpool.cli.demo_harness import ClientResult, measure, measure_hand_rolled_and_pools, table
from sessionpool.testing import DEFAULT_TIMEOUT, ServerProcess

__all__ = [
    "ClientResult",
    "add_arguments",
    "format_table",
    "median_result",
    "run",
    "run_command",
]

#: The subcommand's name, one-line help and description, for the ``sessionpool`` command.
COMMAND = "demo"
HELP = "compare plain requests with both pools against a local server, for speed and resilience"
DESCRIPTION = (
    "Start an HTTP server on 127.0.0.1 and send the same workload through plain requests.get,"
    " one shared requests.Session, a hand-rolled per-thread Session, a ThreadLocalPool and a"
    " QueuePool; print requests/s, connections opened and errors for each (the speed round)."
    " Then send GETs through the hand-rolled Session and both pools to a server that closes every"
    " keep-alive connection just as it is reused; print the failed requests, the pools' retries"
    " and the connections opened (the resilience round)."
)

ROUNDS = ("speed", "resilience")


def run(*, threads: int, total_requests: int, queue_size: int, rounds: int = 1) -> list[ClientResult]:
    """Send ``total_requests`` GETs from ``threads`` threads through each client in turn, ``rounds`` times.

    One result per client, in the order they ran: the round's own with one
    round, else as :func:`median_result` combines them.
    """
    runs: list[list[ClientResult]] = []
    with ServerProcess() as server:
        url = server.url + "/"
        for _ in range(rounds):
            runs.append(_speed_round(server, url, threads, total_requests, queue_size))
    return [median_result(list(per_client)) for per_client in zip(*runs, strict=True)]


def _speed_round(server: ServerProcess, url: str, threads: int, total: int, queue_size: int) -> list[ClientResult]:
    results = [measure("requests.get", server, url, threads, total, _plain_get, None)]
    with requests.Session() as shared:

        def shared_get(target: str) -> requests.Response:
            return shared.get(target, timeout=DEFAULT_TIMEOUT)

        results.append(measure("one shared requests.Session", server, url, threads, total, shared_get, None))
    return results + measure_hand_rolled_and_pools(server, url, threads, total, queue_size)


def _plain_get(url: str) -> requests.Response:
    return requests.get(url, timeout=DEFAULT_TIMEOUT)


def median_result(results: list[ClientResult]) -> ClientResult:
    """One client's rounds as one result: the median requests/s, and the errors of every round.

    The connections, discarded connections and pool statistics are those of
    the median round by requests/s (the slower middle one for an even number).
    """
    if len(results) == 1:
        return results[0]
    middle = sorted(results, key=lambda result: result.requests_per_second)[(len(results) - 1) // 2]
    rate = statistics.median(result.requests_per_second for result in results)
    return dataclasses.replace(
        middle,
        seconds=middle.requests / rate if rate > 0 else middle.seconds,
        errors=sum(result.errors for result in results),
        rounds=len(results),
    )


def format_table(results: list[ClientResult], *, threads: int, total_requests: int) -> str:
    """The speed round's results as a table, with a few lines on what they mean."""
    rounds = results[0].rounds if results else 1
    rate = "requests/s" if rounds == 1 else f"requests/s (median of {rounds})"
    header = ("client", rate, "connections opened", "errors")
    rows = [(r.name, f"{r.requests_per_second:,.0f}", f"{r.connections:,}", f"{r.errors:,}") for r in results]
    out = [
        f"Speed: {total_requests:,} GETs from {threads} threads to a local server on 127.0.0.1"
        " (connections counted by the server)",
        "",
        *table(header, rows),
        "",
    ]
    if rounds > 1:
        out.append(
            f"Each client ran {rounds} rounds: requests/s is the median, errors are those of every round,"
            " and connections those of the median round."
        )
    for result in results:
        if result.discarded:
            out.append(
                f"{result.name}: urllib3 discarded {result.discarded:,} connections"
                " because the session's pool (pool_maxsize=10) was full."
            )
        if result.pool_stats is not None:
            stats = result.pool_stats
            out.append(
                f"{result.name}: pool.stats() saw {stats.requests:,} requests on {stats.connections_opened:,}"
                f" connections from {stats.sessions_created} sessions (reuse ratio {stats.reuse_ratio:.3f})."
            )
    out.append(
        "requests.get opens a connection per request; the pools keep one per session alive and reuse it,"
        " and give each thread a session of its own."
    )
    out.append("The server is a small Python one in its own process: it bounds requests/s for every client alike.")
    return "\n".join(out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's options."""
    parser.add_argument("--threads", type=positive_int, default=16, help="worker threads (default: 16)")
    parser.add_argument(
        "--requests", type=positive_int, default=2000, help="GETs per client in the speed round (default: 2000)"
    )
    parser.add_argument(
        "--size", type=positive_int, default=None, help="QueuePool size (default: threads / 2, at least 1)"
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=1,
        help="run the speed round this many times and report each client's median requests/s (default: 1)",
    )
    parser.add_argument(
        "--resilience-requests",
        type=positive_int,
        default=400,
        help="GETs per client in the resilience round (default: 400)",
    )
    parser.add_argument("--only", choices=ROUNDS, default=None, help="run only this round (default: both, speed first)")


def run_command(args: argparse.Namespace) -> int:
    """Run the demo as parsed; 0 when both pools made no error in any round run."""
    size = args.size if args.size is not None else max(1, args.threads // 2)
    results: list[ClientResult] = []
    if args.only in (None, "speed"):
        speed = run(threads=args.threads, total_requests=args.requests, queue_size=size, rounds=args.rounds)
        print(format_table(speed, threads=args.threads, total_requests=args.requests))
        results += speed
    if args.only in (None, "resilience"):
        if results:
            print()
        resilience = demo_resilience.run(threads=args.threads, total_requests=args.resilience_requests, queue_size=size)
        print(demo_resilience.format_table(resilience, threads=args.threads, total_requests=args.resilience_requests))
        results += resilience
    return 0 if all(result.errors == 0 for result in results if result.is_pool) else 1
