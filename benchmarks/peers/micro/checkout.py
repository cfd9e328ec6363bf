"""What lending a session costs: checkout + return, no network.

Each pool is timed against a baseline measured in the same run: the
hand-rolled per-thread Session of ``sessionpool.testing`` handing a thread
its session (a ``threading.local`` lookup), which is what it pays for the
same step. Results are printed as microseconds per checkout and as a ratio
to the baseline; the machine's noise cancels in the ratio.

    python -m benchmarks.peers.micro.checkout            # 200,000 checkouts a cell
    python -m benchmarks.peers.micro.checkout --quick    # 20,000, for a smoke run
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

from sessionpool import Pool, QueuePool, ThreadLocalPool
from sessionpool.testing import HandRolledSessions, run_threads

Step = Callable[[], object]
BASELINE = "threading.local (baseline)"


def _pool_step(pool: Pool) -> Step:
    def step() -> None:
        with pool.session():
            pass

    return step


def _time(step: Step, threads: int, iterations: int) -> float:
    """Seconds per step, with ``threads`` threads each doing ``iterations // threads`` steps."""
    per_thread = iterations // threads

    def work(index: int) -> None:
        for _ in range(per_thread):
            step()

    return run_threads(threads, work, seconds=600.0, name="checkout").seconds / (per_thread * threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations, for a smoke run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the median is kept")
    args = parser.parse_args()
    iterations = 20_000 if args.quick else 200_000
    print(f"checkout + return, µs per checkout (median of {args.rounds} interleaved rounds)")
    print(f"{'client':<28}{'threads':>8}{'µs':>10}{'x baseline':>12}")
    for threads in (1, 16):
        pools = {"ThreadLocalPool": ThreadLocalPool(), f"QueuePool(size={threads})": QueuePool(size=threads)}
        by_hand = HandRolledSessions()
        steps: dict[str, Step] = {BASELINE: by_hand.session}
        steps.update({name: _pool_step(pool) for name, pool in pools.items()})
        samples: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():  # interleaved: each round times every client
                samples[name].append(_time(step, threads, iterations))
        baseline = statistics.median(samples[BASELINE])
        for name, values in samples.items():
            median = statistics.median(values)
            print(f"{name:<28}{threads:>8}{median * 1e6:>10.2f}{median / baseline:>12.1f}")
        for pool in pools.values():
            pool.close()
        by_hand.close()


if __name__ == "__main__":
    main()
