"""What the retry policy costs a request that succeeds the first time: nothing measurable, no network.

``PoolAdapter.send`` sends every request once itself, and only a failure (or
a transient status) builds a tenacity ``Retrying``. This times that success
path with requests' own ``HTTPAdapter.send`` replaced by a function that
returns a canned 200 response, so what is timed is the adapter's own code:
with the default policy and with ``retry_transient=True``, each against the
same adapter with ``RetryPolicy.disabled()`` measured in the same run. A ratio
of 1.00 means the policy costs nothing measurable; the machine's noise cancels
in the ratio. For scale, it also times what wrapping every call in a fresh
tenacity ``Retrying`` would cost, against calling the send function directly.

    python -m benchmarks.peers.micro.retry_cost            # 1,000,000 calls a cell, 9 rounds (about a minute)
    python -m benchmarks.peers.micro.retry_cost --quick    # 200,000 calls a cell, 5 rounds (a few seconds)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from sessionpool._adapter import PoolAdapter
from sessionpool._config import PoolConfig
from sessionpool._policy import RetryPolicy
from sessionpool._stats import StatsRecorder

Call = Callable[[], object]

BASELINE = "send_once() directly"
DISABLED = "adapter, RetryPolicy.disabled()"
TENACITY = "tenacity Retrying per call"


def _canned_response() -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = b"ok"
    response.headers["Content-Length"] = "2"
    return response


def _calls(response: requests.Response, request: requests.PreparedRequest) -> dict[str, tuple[Call, str]]:
    """Each timed call, with the name of the call its ratio is taken against."""

    def send_once() -> requests.Response:
        return response

    def with_tenacity() -> object:
        retrying = Retrying(
            stop=stop_after_attempt(3), retry=retry_if_exception(lambda e: False), wait=wait_exponential_jitter()
        )
        return retrying(send_once)

    def adapter_send(policy: RetryPolicy) -> Call:
        adapter = PoolAdapter(PoolConfig(retry=policy), StatsRecorder())
        return lambda: adapter.send(request)

    return {
        BASELINE: (send_once, BASELINE),
        DISABLED: (adapter_send(RetryPolicy.disabled()), BASELINE),
        "adapter, RetryPolicy() (default)": (adapter_send(RetryPolicy()), DISABLED),
        "adapter, retry_transient=True": (adapter_send(RetryPolicy(retry_transient=True)), DISABLED),
        TENACITY: (with_tenacity, BASELINE),
    }


def _time(call: Call, iterations: int) -> float:
    """Seconds per call, over ``iterations`` calls."""
    started = time.perf_counter()
    for _ in range(iterations):
        call()
    return (time.perf_counter() - started) / iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds, for a smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds; the median is kept (9, or 5)")
    args = parser.parse_args()
    iterations = 200_000 if args.quick else 1_000_000
    rounds = args.rounds or (5 if args.quick else 9)
    response = _canned_response()
    request = requests.Request("GET", "http://127.0.0.1:9/").prepare()

    def network_free_send(self: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        return response  # what requests' HTTPAdapter.send returns for a 200, without the socket

    # A plain function rather than a MagicMock: a mock records every call,
    # so it grows (and slows) over the run, and adds its own microseconds.
    with mock.patch.object(HTTPAdapter, "send", network_free_send):
        calls = _calls(response, request)
        for name, (call, _) in calls.items():  # the path timed is the real one, and ends in the canned response
            result = call()
            assert result is response, name
        samples: dict[str, list[float]] = {name: [] for name in calls}
        names = list(calls)
        for round_ in range(rounds):
            # Interleaved: each round times every call, starting one further along each
            # time, so no call always runs just after the allocation-heavy tenacity one.
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                call = calls[name][0]
                per_call = iterations // 20 if name == TENACITY else iterations  # tenacity is ~100x slower
                samples[name].append(_time(call, per_call))

    medians = {name: statistics.median(values) for name, values in samples.items()}
    cells = f"{iterations:,} calls a cell ({iterations // 20:,} for tenacity)"
    print(f"Success-path cost per call, no network: median of {rounds} interleaved rounds, {cells}")
    print("ratio = µs per call / µs per call of the reference, both measured in this run; Δ µs = the difference.")
    print("The policy rows are against the adapter with RetryPolicy.disabled(): 1.00 means the policy costs nothing.")
    print(f"{'call':<36}{'µs/call':>10}{'ratio':>9}{'Δ µs':>9}  reference")
    for name, (_, reference) in calls.items():
        median, basis = medians[name], medians[reference]
        if name == reference:
            print(f"{name:<36}{median * 1e6:>10.3f}{'':>9}{'':>9}  (baseline)")
        else:
            delta = (median - basis) * 1e6
            print(f"{name:<36}{median * 1e6:>10.3f}{median / basis:>9.2f}{delta:>+9.3f}  {reference}")


if __name__ == "__main__":
    main()
