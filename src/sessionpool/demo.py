"""``sessionpool demo``: the same workload through plain requests and both pools.

The demo starts a :class:`~sessionpool._localserver.LocalServer` on
127.0.0.1, in a process of its own so that it does not compete with the
clients for the interpreter lock, and sends one workload (GETs spread over
worker threads) through each client in turn. The server counts the
connections each client opened, so that every client is measured the same way.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import requests

from sessionpool.base import BasePool
from sessionpool.queuepool import QueuePool
from sessionpool.stats import PoolStats
from sessionpool.threadlocal import ThreadLocalPool

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ClientResult", "ServerProcess", "add_arguments", "format_table", "measure", "run", "run_command"]

#: The subcommand's name, one-line help and description, for the ``sessionpool`` command.
COMMAND = "demo"
HELP = "compare plain requests with both pools against a local server"
DESCRIPTION = (
    "Start an HTTP server on 127.0.0.1 and send the same workload through plain requests.get,"
    " one shared requests.Session, a hand-rolled per-thread Session, a ThreadLocalPool and a"
    " QueuePool; print requests/s, connections opened and errors for each."
)

_TIMEOUT = (10.0, 30.0)

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

    @property
    def is_pool(self) -> bool:
        """Whether this client is one of sessionpool's pools."""
        return self.pool_stats is not None

    @property
    def requests_per_second(self) -> float:
        """Throughput over the whole run."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


class ServerProcess:
    """The local server in a child process, started and stopped with ``with``."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "sessionpool._localserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the local server did not start (it printed {self.url!r})")
        host, port = self.url.removeprefix("http://").split(":")
        self._address = (host, int(port))
        self._questions = 0  # connections opened to read the counters

    @property
    def connections_accepted(self) -> int:
        """Connections the server accepted so far, not counting the ones made to ask it."""
        connection = http.client.HTTPConnection(*self._address, timeout=10)
        try:
            connection.request("GET", "/_counters")
            counters = json.loads(connection.getresponse().read())
        finally:
            connection.close()
        # Each question opens one connection, and the server counted it.
        self._questions += 1
        return int(counters["connections_accepted"]) - self._questions

    def stop(self) -> None:
        """Close the child's standard input, which stops it, and wait for it."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run(*, threads: int, total_requests: int, queue_size: int) -> list[ClientResult]:
    """Send ``total_requests`` GETs from ``threads`` threads through each client in turn."""
    results = []
    with ServerProcess() as server:
        url = server.url + "/"
        results.append(measure("requests.get", server, url, threads, total_requests, _plain_get, None))
        with requests.Session() as shared:
            results.append(
                measure("one shared requests.Session", server, url, threads, total_requests, _timed(shared.get), None)
            )
        local = threading.local()
        made: list[requests.Session] = []

        def per_thread_get(target: str) -> requests.Response:
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
                made.append(session)
            return session.get(target, timeout=_TIMEOUT)

        results.append(
            measure("threading.local Session, by hand", server, url, threads, total_requests, per_thread_get, None)
        )
        for session in made:
            session.close()
        pools: list[tuple[str, BasePool]] = [
            ("ThreadLocalPool", ThreadLocalPool(timeout=_TIMEOUT)),
            (f"QueuePool(size={queue_size})", QueuePool(size=queue_size, timeout=_TIMEOUT)),
        ]
        for name, pool in pools:
            with pool:
                results.append(measure(name, server, url, threads, total_requests, pool.get, pool))
    return results


def _plain_get(url: str) -> requests.Response:
    return requests.get(url, timeout=_TIMEOUT)


def _timed(get: Callable[..., requests.Response]) -> Fetch:
    return lambda url: get(url, timeout=_TIMEOUT)


def measure(
    name: str, server: ServerProcess, url: str, threads: int, total: int, fetch: Fetch, pool: BasePool | None
) -> ClientResult:
    """Send ``total`` GETs of ``url`` through ``fetch`` from ``threads`` threads started together."""
    shares = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    errors = [0] * threads
    start = threading.Barrier(threads + 1)

    def work(index: int) -> None:
        start.wait()
        for _ in range(shares[index]):
            try:
                response = fetch(url)
                if response.status_code != 200 or response.content != b"ok":
                    errors[index] += 1
            except requests.RequestException:
                errors[index] += 1

    workers = [threading.Thread(target=work, args=(i,), name=f"demo-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    before = server.connections_accepted
    with _count_discarded_connections() as discarded:
        started = time.perf_counter()
        start.wait()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - started
    return ClientResult(
        name=name,
        requests=total,
        seconds=seconds,
        errors=sum(errors),
        connections=server.connections_accepted - before,
        discarded=discarded[0],
        pool_stats=pool.stats() if pool is not None else None,
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


def format_table(results: list[ClientResult], *, threads: int, total_requests: int) -> str:
    """The results as a table, with a few lines on what they mean."""
    header = ("client", "requests/s", "connections opened", "errors")
    rows = [(r.name, f"{r.requests_per_second:,.0f}", f"{r.connections:,}", f"{r.errors:,}") for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(rest, widths[1:], strict=True))])

    out = [
        f"{total_requests:,} GETs from {threads} threads to a local server on 127.0.0.1"
        " (connections counted by the server)",
        "",
        line(header),
        line(tuple("-" * w for w in widths)),
        *(line(row) for row in rows),
        "",
    ]
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
    out.append(
        "The server is a small Python one in its own process: it bounds requests/s for every client alike."
    )
    return "\n".join(out)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1, or a message naming what was wrong."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's options."""
    parser.add_argument("--threads", type=positive_int, default=16, help="worker threads (default: 16)")
    parser.add_argument("--requests", type=positive_int, default=2000, help="GETs in all (default: 2000)")
    parser.add_argument(
        "--size", type=positive_int, default=None, help="QueuePool size (default: threads / 2, at least 1)"
    )


def run_command(args: argparse.Namespace) -> int:
    """Run the demo as parsed; 0 when both pools made no error."""
    size = args.size if args.size is not None else max(1, args.threads // 2)
    results = run(threads=args.threads, total_requests=args.requests, queue_size=size)
    print(format_table(results, threads=args.threads, total_requests=args.requests))
    return 0 if all(result.errors == 0 for result in results if result.is_pool) else 1
