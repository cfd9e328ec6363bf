"""Run one client on the workload in this (fresh) process and print one JSON line.

    python -m benchmarks.peers.client_run --client NAME --threads T --requests N --url URL --ca CA_FILE --timeout C,R

Run from the repository's root (the runner sets ``cwd``), by the dev venv's
python or by a client venv's (niquests'): it imports only the standard
library, this package, and the client's own library once the client runs.

The line holds: requests, ok, errors, lost, seconds, req/s (successful
responses per second), p50 and p99 latency in ms, peak RSS in KiB, error
samples (peak RSS: see peak_rss_kib), and ``broken`` notes when the client misbehaved (lost responses,
hung threads, a worker thread that died), and the connections urllib3
discarded because a pool was full. ``skipped`` is set instead when
the client's library is not installed. The run stops starting requests
after ``--budget`` seconds, so it reports rather than being killed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import threading
import time
from typing import Any

from benchmarks.common.harness import Outcome, Workload, percentile
from benchmarks.peers.clients import BY_NAME, ClientUnavailable


def peak_rss_kib() -> int:
    """This process' peak resident memory, in KiB.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` survives ``execve``: a child started
    by ``subprocess`` (vfork + exec) reports at least its parent's peak. On
    Linux the new program's own peak is ``VmHWM`` in /proc/self/status;
    ru_maxrss is the fallback elsewhere.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class DiscardCounter(logging.Handler):
    """Counts urllib3's "Connection pool is full, discarding connection" warnings.

    urllib3 gives its loggers a NullHandler, so these warnings are never
    printed: counting them is the only way to see a session's pool overflow.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Connection pool is full"):
            self.count += 1


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def report(name: str, work: Workload, outcome: Outcome, crashes: list[str], discarded: int) -> dict[str, Any]:
    """The JSON-ready summary of one run."""
    tally = outcome.tally
    broken = list(outcome.broken)
    if crashes:
        broken.append(f"{len(crashes)} worker thread(s) died: {crashes[0]}")
    return {
        "client": name,
        "threads": work.threads,
        "requests": work.requests,
        "ok": tally.ok,
        "errors": tally.errors,
        "lost": outcome.lost,
        "seconds": round(outcome.seconds, 6),
        "rps": round(tally.ok / outcome.seconds, 1) if outcome.seconds > 0 else 0.0,
        "p50_ms": _ms(percentile(tally.latencies, 0.50)),
        "p99_ms": _ms(percentile(tally.latencies, 0.99)),
        "rss_kib": peak_rss_kib(),
        "error_samples": tally.samples,
        "discarded": discarded,
        "broken": "; ".join(broken) or None,
    }


def _timeout(text: str) -> tuple[float, float]:
    connect, read = (float(part) for part in text.split(","))
    return connect, read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", required=True, choices=sorted(BY_NAME))
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True, help="the CA bundle that signed the server's certificate")
    parser.add_argument("--expect-bytes", type=int, default=2, help="the length every body must have (2 for /tiny)")
    parser.add_argument("--timeout", required=True, help="connect,read seconds (a pool's default)")
    parser.add_argument("--budget", type=float, default=100.0, help="seconds after which no request is started")
    args = parser.parse_args()
    if args.threads < 1 or args.requests < args.threads:
        parser.error("need 1 <= threads <= requests")

    crashes: list[str] = []

    def record_crash(hook: threading.ExceptHookArgs) -> None:
        crashes.append(f"{hook.exc_type.__name__}: {hook.exc_value}"[:300])

    threading.excepthook = record_crash  # a dying worker thread (toolbelt's) is counted, not just printed
    discards = DiscardCounter()
    logging.getLogger("urllib3.connectionpool").addHandler(discards)
    work = Workload(
        url=args.url,
        threads=args.threads,
        requests=args.requests,
        ca_bundle=args.ca,
        expect_bytes=args.expect_bytes,
        deadline=time.monotonic() + args.budget,
        timeout=_timeout(args.timeout),
    )
    try:
        outcome = BY_NAME[args.client].make().run(work)
    except ClientUnavailable as missing:
        line: dict[str, Any] = {"client": args.client, "skipped": str(missing)}
    else:
        line = report(args.client, work, outcome, crashes, discards.count)
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave at once: a hung client's threads (or an executor's exit hook) must not keep the process up.
    os._exit(0)


if __name__ == "__main__":
    main()
