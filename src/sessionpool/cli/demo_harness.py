"""What both rounds of ``sessionpool demo`` share: the clients, and the measurement.

The local server (:class:`sessionpool.testing.ServerProcess`) runs in a child
process, so that it does not compete with the clients for the interpreter
lock, and counts the connections each client opened, so that every client is
measured the same way: :func:`measure` sends one workload (GETs spread over
worker threads released together) through one client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from sessionpool import Pool, PoolStats, QueuePool, ThreadLocalPool
from sessionpool.testing import HandRolledSessions, ServerProcess, run_threads

__all__ = [
    "HAND_ROLLED",
    "ClientResult",
    "Fetch",
    "measure",
    "measure_hand_rolled_and_pools",
    "table",
]

#: The name of the per-thread Session written by hand (sessionpool.testing.HandRolledSessions), in both rounds.
HAND_ROLLED = "threading.local Session, by hand"

#: How long one client's workload may take before the demo gives up on it.
RUN_SECONDS = 600.0

Fetch = Callable[[str], requests.Response]


@dataclass(frozen=True)
class ClientResult:
    """How one client did on the workload."""

    name: str
    requests: int
    seconds: float
    errors: int
    connections: int  # as counted by the server
    discarded: int  # connections urllib3 threw away because its pool was full
    pool_stats: PoolStats | None  # for the sessionpool clients
    closed_on_reuse: int = 0  # reused connections the server closed under a request
    rounds: int = 1  # more than 1: a median of rounds (see sessionpool.cli.demo.median_result)

    @property
    def is_pool(self) -> bool:
        """Whether this client is one of sessionpool's pools."""
        return self.pool_stats is not None

    @property
    def requests_per_second(self) -> float:
        """Throughput over the whole run."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def measure_hand_rolled_and_pools(
    server: ServerProcess, url: str, threads: int, total: int, queue_size: int
) -> list[ClientResult]:
    """:func:`measure` the hand-rolled per-thread Session, then both pools (default configuration), in turn."""
    with HandRolledSessions() as by_hand:
        results = [measure(HAND_ROLLED, server, url, threads, total, by_hand.get, None)]
    pools: list[tuple[str, Callable[[], Pool]]] = [
        ("ThreadLocalPool", ThreadLocalPool),
        (f"QueuePool(size={queue_size})", lambda: QueuePool(size=queue_size)),
    ]
    for name, make_pool in pools:
        with make_pool() as pool:
            results.append(measure(name, server, url, threads, total, pool.get, pool))
    return results


def measure(
    name: str, server: ServerProcess, url: str, threads: int, total: int, fetch: Fetch, pool: Pool | None
) -> ClientResult:
    """Send ``total`` GETs of ``url`` through ``fetch`` from ``threads`` threads released together.

    A response other than ``200 ok``, or a :class:`requests.RequestException`,
    counts as an error. ``pool``, if given, is the pool behind ``fetch``,
    whose statistics go into the result.
    """
    shares = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    errors = [0] * threads

    def work(index: int) -> None:
        for _ in range(shares[index]):
            try:
                response = fetch(url)
                if response.status_code != 200 or response.content != b"ok":
                    errors[index] += 1
            except requests.RequestException:
                errors[index] += 1

    before = server.counters()
    with _count_discarded_connections() as discarded:
        seconds = run_threads(threads, work, seconds=RUN_SECONDS, name="demo").seconds
    after = server.counters()
    return ClientResult(
        name=name,
        requests=total,
        seconds=seconds,
        errors=sum(errors),
        connections=after.connections_accepted - before.connections_accepted,
        discarded=discarded[0],
        pool_stats=pool.stats() if pool is not None else None,
        closed_on_reuse=after.connections_broken - before.connections_broken,
    )


@contextmanager
def _count_discarded_connections() -> Iterator[list[int]]:
    """Count urllib3's "Connection pool is full" warnings instead of printing them."""
    counter = [0]

    class _Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("Connection pool is full"):
                counter[0] += 1

    logger = logging.getLogger("urllib3.connectionpool")
    handler = _Counter(logging.WARNING)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield counter
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """The lines of a table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(rest, widths[1:], strict=True))])

    return [line(header), line(tuple("-" * w for w in widths)), *(line(row) for row in rows)]
