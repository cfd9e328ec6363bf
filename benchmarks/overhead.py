"""What a pool costs per request over a hand-rolled per-thread Session, on loopback.

The same GET workload goes through a ``threading.local`` Session written by
hand (the baseline), a ThreadLocalPool and a QueuePool(size=threads),
against the local server in its own process. Clients are interleaved round
by round, and every ratio is taken against the baseline's median in the
same run, so the machine's noise cancels. A ratio near 1.0 means the pool
adds nothing measurable.

    python benchmarks/overhead.py            # 2,000 GETs a cell, 5 rounds
    python benchmarks/overhead.py --quick    # 300 GETs a cell, 3 rounds
"""

from __future__ import annotations

import argparse
import statistics
import threading

import requests

from sessionpool import QueuePool, ThreadLocalPool
from sessionpool.cli.demo import ServerProcess, measure

TIMEOUT = (10.0, 30.0)


class HandRolled:
    """The per-thread Session a user writes without a pool: the baseline."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._made: list[requests.Session] = []

    def get(self, url: str) -> requests.Response:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            self._made.append(session)
        return session.get(url, timeout=TIMEOUT)

    def close(self) -> None:
        for session in self._made:
            session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run, for a smoke test")
    args = parser.parse_args()
    total, rounds = (300, 3) if args.quick else (2000, 5)
    print(f"requests/s for {total} GETs (median of {rounds} interleaved rounds); ratio to the hand-rolled baseline")
    print(f"{'client':<30}{'threads':>8}{'req/s':>10}{'ratio':>8}{'connections':>13}")
    with ServerProcess() as server:
        url = server.url + "/"
        for threads in (1, 16):
            samples: dict[str, list[float]] = {}
            connections: dict[str, int] = {}
            for _ in range(rounds):
                by_hand = HandRolled()
                result = measure("threading.local by hand", server, url, threads, total, by_hand.get, None)
                by_hand.close()
                samples.setdefault(result.name, []).append(result.requests_per_second)
                connections[result.name] = result.connections
                for name, pool in (
                    ("ThreadLocalPool", ThreadLocalPool(timeout=TIMEOUT)),
                    (f"QueuePool(size={threads})", QueuePool(size=threads, timeout=TIMEOUT)),
                ):
                    with pool:
                        result = measure(name, server, url, threads, total, pool.get, pool)
                    samples.setdefault(name, []).append(result.requests_per_second)
                    connections[name] = result.connections
            baseline = statistics.median(samples["threading.local by hand"])
            for name, values in samples.items():
                median = statistics.median(values)
                print(f"{name:<30}{threads:>8}{median:>10.0f}{median / baseline:>8.2f}{connections[name]:>13}")


if __name__ == "__main__":
    main()
