"""What both rounds of ``sessionpool demo`` share: the server process, the clients, and the measurement.

The local server runs in a child process (:class:`ServerProcess`), so that
it does not compete with the clients for the interpreter lock, and counts
the connections each client opened, so that every client is measured the
same way: :func:`measure` sends one workload (GETs spread over worker
threads started together) through one client.
"""

from __future__ import annotations

import http.client
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import requests

from sessionpool._base import Pool
from sessionpool._queuepool import QueuePool
from sessionpool._stats import PoolStats
from sessionpool._threadlocal import ThreadLocalPool

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "HAND_ROLLED",
    "TIMEOUT",
    "ClientResult",
    "Fetch",
    "ServerCounters",
    "ServerProcess",
    "hand_rolled_sessions",
    "measure",
    "pools",
    "table",
]

#: The request timeout (connect, read) of every client.
TIMEOUT = (10.0, 30.0)

#: The name of the per-thread Session written by hand, in both rounds.
HAND_ROLLED = "threading.local Session, by hand"

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


@dataclass(frozen=True)
class ServerCounters:
    """What the server counted so far, not counting the connections made to ask it."""

    connections_accepted: int
    closed_on_reuse: int


class ServerProcess:
    """The local server in a child process, started and stopped with ``with``.

    :param close_on_reuse: the server closes every keep-alive connection,
        unanswered, as it is reused (see :mod:`sessionpool.testing`).
    """

    def __init__(self, *, close_on_reuse: bool = False) -> None:
        command = [sys.executable, "-m", "sessionpool.testing"]
        if close_on_reuse:
            command.append("--close-on-reuse")
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the local server did not start (it printed {self.url!r})")
        host, port = self.url.removeprefix("http://").split(":")
        self._address = (host, int(port))
        self._questions = 0  # connections opened to read the counters

    def counters(self) -> ServerCounters:
        """Ask the server what it counted so far (on a connection of its own, discounted)."""
        connection = http.client.HTTPConnection(*self._address, timeout=10)
        try:
            connection.request("GET", "/_counters")
            counters = json.loads(connection.getresponse().read())
        finally:
            connection.close()
        # Each question opens one connection, and the server counted it.
        self._questions += 1
        return ServerCounters(
            connections_accepted=int(counters["connections_accepted"]) - self._questions,
            closed_on_reuse=int(counters["closed_on_reuse"]),
        )

    @property
    def connections_accepted(self) -> int:
        """Connections the server accepted so far, not counting the ones made to ask it."""
        return self.counters().connections_accepted

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


@contextmanager
def hand_rolled_sessions() -> Iterator[Fetch]:
    """A GET through a ``requests.Session`` per thread, made on first use, as a user writes it by hand.

    Every session made is closed when the block ends.
    """
    local = threading.local()
    made: list[requests.Session] = []
    lock = threading.Lock()

    def get(url: str) -> requests.Response:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            with lock:
                made.append(session)
        return session.get(url, timeout=TIMEOUT)

    try:
        yield get
    finally:
        for session in made:
            session.close()


def pools(queue_size: int) -> Iterator[tuple[str, Callable[[], Pool]]]:
    """Both pools as (name, maker), with the default configuration and the demo's timeout."""
    yield "ThreadLocalPool", lambda: ThreadLocalPool(timeout=TIMEOUT)
    yield f"QueuePool(size={queue_size})", lambda: QueuePool(size=queue_size, timeout=TIMEOUT)


def measure(
    name: str, server: ServerProcess, url: str, threads: int, total: int, fetch: Fetch, pool: Pool | None
) -> ClientResult:
    """Send ``total`` GETs of ``url`` through ``fetch`` from ``threads`` threads started together.

    A response other than ``200 ok``, or a :class:`requests.RequestException`,
    counts as an error. ``pool``, if given, is the pool behind ``fetch``,
    whose statistics go into the result.
    """
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

    before = server.counters()
    workers = [threading.Thread(target=work, args=(i,), name=f"demo-{i}") for i in range(threads)]
    try:
        for worker in workers:
            worker.start()
    except BaseException:
        start.abort()  # the workers started so far stop waiting
        raise
    with _count_discarded_connections() as discarded:
        started = time.perf_counter()
        start.wait()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - started
    after = server.counters()
    return ClientResult(
        name=name,
        requests=total,
        seconds=seconds,
        errors=sum(errors),
        connections=after.connections_accepted - before.connections_accepted,
        discarded=discarded[0],
        pool_stats=pool.stats() if pool is not None else None,
        closed_on_reuse=after.closed_on_reuse - before.closed_on_reuse,
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
