"""Memory per pooled session: what N sessions that each sent one GET hold, in KiB per session.

Each session sends one GET to nginx on loopback (benchmarks/common/servers.py),
so that its adapter, its pool manager and one kept-alive connection exist. Three ways
are measured in one process, each with tracemalloc started just before it
and stopped after it (allocations by Python code only, not OpenSSL's own):

- ``requests.Session``: N plain sessions, one GET each (the reference);
- ``QueuePool(size=N)``: N sessions borrowed at once (``pool.session()`` in a
  ``contextlib.ExitStack``), one GET each, then all given back;
- ``ThreadLocalPool``: one GET from each of N threads (released together),
  the threads kept alive until the figure is read, so their sessions are.

Peak is tracemalloc's peak while the sessions were made and used; retained
is what was still allocated once they all had sent their GET (and, for the
pools, been given back), before anything was closed. Both are divided by N.

    python -m benchmarks.peers.micro.session_memory                 # 200 sessions, HTTP and TLS
    python -m benchmarks.peers.micro.session_memory --sessions 50
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import tempfile
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import requests

import sessionpool
from benchmarks.common.processes import terminate_on_sigterm
from benchmarks.common.servers import start_server
from sessionpool.testing import run_threads

#: One way to hold N sessions that each sent a GET: it returns a closer, called after the figure is read.
Hold = Callable[[str, str, int], Callable[[], None]]


def plain_sessions(url: str, ca_bundle: str, count: int) -> Callable[[], None]:
    """N ``requests.Session``, one GET each."""
    sessions = []
    for _ in range(count):
        session = requests.Session()
        session.verify = ca_bundle
        _ = session.get(url, timeout=(10, 30)).content
        sessions.append(session)

    def close() -> None:
        for session in sessions:
            session.close()

    return close


def queue_pool(url: str, ca_bundle: str, count: int) -> Callable[[], None]:
    """A ``QueuePool(size=N)`` with all N sessions borrowed at once, one GET each, then given back."""
    pool = sessionpool.QueuePool(size=count, verify=ca_bundle)
    with contextlib.ExitStack() as stack:
        sessions = [stack.enter_context(pool.session()) for _ in range(count)]
        for session in sessions:
            _ = session.get(url).content
    return pool.close


def thread_local_pool(url: str, ca_bundle: str, count: int) -> Callable[[], None]:
    """A ``ThreadLocalPool`` used once by each of N threads, which stay alive until closed."""
    pool = sessionpool.ThreadLocalPool(verify=ca_bundle)
    done = threading.Barrier(count + 1, timeout=60)
    leave = threading.Event()
    threads = []

    def body() -> None:
        _ = pool.get(url).content
        done.wait()
        leave.wait(60)

    for index in range(count):
        thread = threading.Thread(target=body, name=f"memory-{index}", daemon=True)
        thread.start()
        threads.append(thread)
    done.wait()

    def close() -> None:
        leave.set()
        for thread in threads:
            thread.join(10)
        pool.close()

    return close


HOLDS: dict[str, Hold] = {
    "requests.Session (plain)": plain_sessions,
    "QueuePool(size=N)": queue_pool,
    "ThreadLocalPool": thread_local_pool,
}


def measure(hold: Hold, url: str, ca_bundle: str, count: int) -> tuple[float, float]:
    """Peak and retained KiB per session while ``hold`` made and kept N sessions."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        close = hold(url, ca_bundle, count)
        gc.collect()
        retained, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    close()
    return (peak - base) / 1024 / count, (retained - base) / 1024 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="N, sessions per measurement (default 200)")
    args = parser.parse_args()
    terminate_on_sigterm()
    # Warm-up: imports and the first TLS context are not any one session's.
    run_threads(1, lambda _: None)
    with tempfile.TemporaryDirectory(prefix="sessionpool-memory-") as scratch, start_server(Path(scratch)) as server:
        ca_bundle = str(server.ca_bundle)
        # requests lets REQUESTS_CA_BUNDLE (set on this machine) override a session's verify: point it at the test CA.
        os.environ["REQUESTS_CA_BUNDLE"] = os.environ["CURL_CA_BUNDLE"] = ca_bundle
        print(f"{args.sessions} sessions each, one GET per session, {server.kind}; KiB per session (tracemalloc)")
        print(f"{'':<26} {'protocol':<8} {'peak':>9} {'retained':>9} {'retained / plain':>17}")
        for protocol, url in (("HTTP", server.http_url), ("TLS", server.https_url)):
            url += "/tiny"
            plain_sessions(url, ca_bundle, 2)()
            reference = None
            for name, hold in HOLDS.items():
                peak, retained = measure(hold, url, ca_bundle, args.sessions)
                reference = reference or retained
                print(f"{name:<26} {protocol:<8} {peak:>9.1f} {retained:>9.1f} {retained / reference:>16.2f}x")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
