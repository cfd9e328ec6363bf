"""Where one GET's time goes: the same GET timed at each layer of requests, and through the pools.

One thread, nginx on loopback (see benchmarks/common/servers.py), plain HTTP and TLS. Each
layer sends the same GET and reads the whole body:

- ``urllib3.PoolManager.request``: requests' transport, bare;
- ``HTTPAdapter.send`` of a prepared request;
- ``Session.send`` of a prepared request;
- ``Session.get``: preparation and settings merged on every call;
- ``ThreadLocalPool.get`` and ``QueuePool.get``;
- with the curl extra installed: ``curl_cffi.Curl.perform`` (one libcurl
  easy handle, reused: the wire's floor under the curl transport), and the
  two pools with ``transport="curl"``.

A round times every layer once, in a rotated order; each figure is the
median over rounds of microseconds per GET, with its throughput as a
fraction of urllib3's in the same round. Run it in the environment to be
measured: requests reads proxy variables and ``NO_PROXY`` on every call.

    python -m benchmarks.peers.micro.layers                   # 3 rounds of 3,000 GETs per layer
    python -m benchmarks.peers.micro.layers --quick           # 3 rounds of 500
    python -m benchmarks.peers.micro.layers --profile pooled  # and cProfile's top functions of the pooled GET
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests
import urllib3
from requests.adapters import HTTPAdapter

import sessionpool
from benchmarks.common.processes import terminate_on_sigterm
from benchmarks.common.servers import start_server

Get = Callable[[], int]


def layers(url: str, ca_bundle: str) -> dict[str, tuple[Get, Callable[[], None]]]:
    """Each layer's GET (returning the body's length) and how to close what it opened."""
    manager = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca_bundle)
    adapter = HTTPAdapter()
    session = requests.Session()
    session.verify = ca_bundle
    sender = requests.Session()
    sender.verify = ca_bundle
    prepared = sender.prepare_request(requests.Request("GET", url))
    settings = sender.merge_environment_settings(url, {}, None, None, None)
    local = sessionpool.ThreadLocalPool(verify=ca_bundle)
    queue = sessionpool.QueuePool(size=1, verify=ca_bundle)
    return {
        "urllib3.PoolManager.request": (lambda: len(manager.request("GET", url).data), manager.clear),
        "HTTPAdapter.send": (
            lambda: len(adapter.send(prepared, timeout=None, verify=ca_bundle).content),
            adapter.close,
        ),
        "Session.send": (lambda: len(sender.send(prepared, **settings).content), sender.close),
        "Session.get": (lambda: len(session.get(url).content), session.close),
        "ThreadLocalPool.get": (lambda: len(local.get(url).content), local.close),
        "QueuePool.get": (lambda: len(queue.get(url).content), queue.close),
        **curl_layers(url, ca_bundle),
    }


def curl_layers(url: str, ca_bundle: str) -> dict[str, tuple[Get, Callable[[], None]]]:
    """libcurl's own GET and the pools on the curl transport; none without the curl extra."""
    try:
        from curl_cffi import Curl, CurlOpt
    except ImportError:
        return {}
    handle = Curl()
    body = io.BytesIO()

    def curl_get() -> int:
        body.seek(0)
        body.truncate()
        handle.setopt(CurlOpt.URL, url.encode())
        handle.setopt(CurlOpt.CAINFO, ca_bundle.encode())
        handle.setopt(CurlOpt.WRITEDATA, body)
        handle.perform()
        return body.tell()

    local = sessionpool.ThreadLocalPool(verify=ca_bundle, transport="curl")
    queue = sessionpool.QueuePool(size=1, verify=ca_bundle, transport="curl")
    return {
        "curl_cffi.Curl.perform": (curl_get, handle.close),
        "ThreadLocalPool.get, curl": (lambda: len(local.get(url).content), local.close),
        "QueuePool.get, curl": (lambda: len(queue.get(url).content), queue.close),
    }


def time_layer(get: Get, requests_: int) -> float:
    """Microseconds per GET over ``requests_`` GETs (after a few to warm up)."""
    for _ in range(20):
        get()
    started = time.perf_counter()
    for _ in range(requests_):
        get()
    return (time.perf_counter() - started) / requests_ * 1e6


def measure(url: str, ca_bundle: str, requests_: int, rounds: int) -> dict[str, list[float]]:
    """Microseconds per GET of every layer, one list per layer, one figure per round."""
    timings: dict[str, list[float]] = {}
    built = layers(url, ca_bundle)
    names = list(built)
    try:
        for round_ in range(rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                timings.setdefault(name, []).append(time_layer(built[name][0], requests_))
    finally:
        for _, close in built.values():
            close()
    return timings


def table(timings: dict[str, list[float]]) -> str:
    """µs per GET and throughput against urllib3's, medians of per-round figures."""
    reference = timings["urllib3.PoolManager.request"]
    lines = ["| layer | µs per GET | throughput vs urllib3 |", "|---|---:|---:|"]
    for name, figures in timings.items():
        ratio = statistics.median(base / mine for base, mine in zip(reference, figures, strict=True))
        lines.append(f"| {name} | {statistics.median(figures):.0f} | {ratio:.2f}x |")
    return "\n".join(lines)


def profile(url: str, ca_bundle: str, name: str, requests_: int, top: int) -> str:
    """cProfile's ``top`` functions by own time, for ``requests_`` GETs of one layer."""
    built = layers(url, ca_bundle)
    try:
        get = built[name][0]
        for _ in range(20):
            get()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests_):
            get()
        profiler.disable()
    finally:
        for _, close in built.values():
            close()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 GETs per layer and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--protocol", choices=("HTTP", "TLS", "both"), default="both")
    parser.add_argument(
        "--profile", choices=("pooled", "session", "none"), default="none", help="also profile one layer's GET"
    )
    parser.add_argument("--top", type=int, default=35, help="functions shown by --profile")
    args = parser.parse_args()
    requests_ = 500 if args.quick else 3000
    terminate_on_sigterm()
    environment = "NO_PROXY=" + os.environ["NO_PROXY"] if "NO_PROXY" in os.environ else "no NO_PROXY"
    protocols = ("HTTP", "TLS") if args.protocol == "both" else (args.protocol,)
    with tempfile.TemporaryDirectory(prefix="sessionpool-layers-") as scratch, start_server(Path(scratch)) as server:
        ca_bundle = str(server.ca_bundle)
        os.environ["REQUESTS_CA_BUNDLE"] = os.environ["CURL_CA_BUNDLE"] = ca_bundle  # as the benchmark's clients
        for protocol in protocols:
            url = (server.http_url if protocol == "HTTP" else server.https_url) + "/tiny"
            timings = measure(url, ca_bundle, requests_, args.rounds)
            print(f"\n{protocol}, one thread, {server.kind}, {environment}, {args.rounds} x {requests_} GETs per layer")
            print(table(timings))
            if args.profile != "none":
                name = "ThreadLocalPool.get" if args.profile == "pooled" else "Session.get"
                print(profile(url, ca_bundle, name, requests_, args.top))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
