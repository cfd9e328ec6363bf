"""The threaded workload, and how it is counted: N GETs from T threads released together.

The peers suite's clients run it (each in a client subprocess, possibly by
another venv's python: this module imports only the standard library).

Every response's body is read in full and checked (status 200 and the
expected length); a response that fails either check, and a call that
raised, are errors. A request that neither returned nor raised (a worker
that died, or was still busy at the deadline) is lost.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.common.paths import ROOT

#: The barrier helper, sessionpool.testing's own (stdlib only), loaded from its file: a client subprocess
#: run by another venv's python (niquests') must not import sessionpool, requests or urllib3.
_THREADS_FILE = ROOT / "src" / "sessionpool" / "testing" / "_threads.py"
_spec = importlib.util.spec_from_file_location("bench_threads", _THREADS_FILE)
assert _spec is not None
assert _spec.loader is not None
_threads = importlib.util.module_from_spec(_spec)
sys.modules["bench_threads"] = _threads  # dataclasses look their module up
_spec.loader.exec_module(_threads)
run_threads = _threads.run_threads

#: One GET through a client: the status and the length of the body it read.
Fetch = Callable[[str], tuple[int, int]]
#: Made in each worker thread before the start: its fetch, and what to do when the thread is done.
FetchFactory = Callable[[], tuple[Fetch, Callable[[], None] | None]]

SAMPLES = 3  # error messages kept per run


@dataclass(frozen=True)
class Workload:
    """What one client run does."""

    url: str
    threads: int
    requests: int
    ca_bundle: str
    expect_bytes: int
    deadline: float  # time.monotonic() after which no request is started
    #: (connect, read) seconds, given to every client: the runner passes a pool's default
    #: (sessionpool.testing.DEFAULT_TIMEOUT), so this module needs no sessionpool import.
    timeout: tuple[float, float]

    def shares(self) -> list[int]:
        """How many requests each thread sends: ``requests`` split as evenly as it goes."""
        base, extra = divmod(self.requests, self.threads)
        return [base + (1 if i < extra else 0) for i in range(self.threads)]

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


@dataclass
class Tally:
    """What one thread (or one client, under ``lock``) saw."""

    ok: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def response(self, status: int, size: int, expect_bytes: int, seconds: float) -> None:
        """Count one response: OK only with status 200 and the whole body."""
        self.latencies.append(seconds)
        if status == 200 and size == expect_bytes:
            self.ok += 1
        else:
            self.error(f"status {status}, {size} body bytes (expected 200, {expect_bytes})")

    def error(self, what: str | BaseException) -> None:
        """Count one failed request, keeping the first few messages."""
        self.errors += 1
        if len(self.samples) < SAMPLES:
            text = what if isinstance(what, str) else f"{type(what).__name__}: {what}"
            self.samples.append(text[:300])

    def merge(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        self.ok += other.ok
        self.errors += other.errors
        self.latencies.extend(other.latencies)
        self.samples.extend(other.samples[: max(0, SAMPLES - len(self.samples))])


@dataclass
class Outcome:
    """One client run, as reported by the runner script."""

    requests: int
    seconds: float
    tally: Tally
    broken: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Requests that neither returned nor raised."""
        return self.requests - self.tally.ok - self.tally.errors


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def run_workload(make_fetch: FetchFactory, work: Workload) -> Outcome:
    """Send ``work.requests`` GETs from ``work.threads`` threads, each with its own fetch, released together."""
    shares = work.shares()
    tallies = [Tally() for _ in shares]
    made: list[tuple[Fetch, Callable[[], None] | None] | None] = [None] * work.threads
    late = threading.Event()

    def prepare(index: int) -> None:
        try:
            made[index] = make_fetch()
        except Exception as error:
            tallies[index].error(error)
            raise

    def send(index: int) -> None:
        entry = made[index]
        assert entry is not None  # prepare(index) ran first
        fetch, cleanup = entry
        tally = tallies[index]
        try:
            for _ in range(shares[index]):
                if time.monotonic() > work.deadline:
                    late.set()
                    break
                began = time.perf_counter()
                try:
                    status, size = fetch(work.url)
                except Exception as error:
                    tally.error(error)
                    continue
                tally.response(status, size, work.expect_bytes, time.perf_counter() - began)
        finally:
            if cleanup is not None:
                cleanup()

    run = run_threads(
        work.threads, send, prepare=prepare, seconds=work.remaining() + 5.0, raise_errors=False, name="bench"
    )
    outcome = Outcome(requests=work.requests, seconds=run.seconds, tally=Tally())
    if not run.released:
        outcome.broken.append("a worker thread could not set up its client")
        for _, cleanup in filter(None, made):  # the threads that set theirs up never ran
            if cleanup is not None:
                cleanup()
    elif run.errors:
        outcome.broken.append(f"{len(run.errors)} worker thread(s) died: {run.errors[0]!r}"[:300])
    if run.hung:
        outcome.broken.append("worker threads still busy at the deadline (hung)")
    if late.is_set():
        outcome.broken.append("the deadline passed before every request was sent")
    for tally in tallies:
        outcome.tally.merge(tally)
    return outcome
