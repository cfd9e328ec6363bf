"""The fetch engine as a library: fetch_all, Fetch, fetch_one, FetchOptions and FetchResult."""

from __future__ import annotations

import gc
import itertools
import pickle
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from helpers import wait_until
from sessionpool import (
    ErrorInfo,
    Fetch,
    FetchOptions,
    FetchResult,
    PoolConfig,
    QueuePool,
    RetryPolicy,
    ThreadLocalPool,
    fetch_all,
    fetch_one,
)
from sessionpool._fetch.hostlimit import HostLimiter
from sessionpool._fetch.one import url_problem
from sessionpool._fetch.run import Reorder
from sessionpool.testing import LocalServer

SECONDS = 30.0


def refused_url() -> str:
    with socket.socket() as sock:  # a port nothing listens on any more
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def kind_of(result: FetchResult) -> str | None:
    return None if result.error is None else result.error.type


def message_of(result: FetchResult) -> str:
    return "" if result.error is None else result.error.message


def test_every_url_gets_one_result_malformed_ones_included(server: LocalServer) -> None:
    refused = refused_url()
    urls = [
        f"{server.url}/echo",
        "not a url",
        f"{server.url}/status/404",
        "ftp://x/",
        refused,
        "http://",
        "http://h:x/",
    ]
    with fetch_all(urls, options=FetchOptions(threads=3)) as fetch:
        results = list(fetch)
    assert sorted(result.index for result in results) == list(range(len(urls)))
    by_index = {result.index: result for result in results}
    assert [by_index[n].url for n in range(len(urls))] == urls
    assert (by_index[0].status, by_index[0].error, by_index[0].attempts) == (200, None, 1)
    assert (by_index[0].size or 0) > 0
    assert (by_index[2].status, by_index[2].error) == (404, None)
    for n, kind in ((1, "MissingSchema"), (3, "InvalidSchema"), (5, "InvalidURL"), (6, "InvalidURL")):
        assert kind_of(by_index[n]) == kind
        assert urls[n] in message_of(by_index[n])
        assert (by_index[n].attempts, by_index[n].status, by_index[n].elapsed_ms) == (0, None, 0.0)
    assert kind_of(by_index[4]) == "ConnectionError"
    assert sorted(r.path for r in server.requests) == ["/echo", "/status/404"]  # malformed URLs are never sent
    assert fetch.pool.closed  # the pool fetch_all made is closed with it
    assert fetch.stats().requests == 3
    assert (fetch.not_sent, fetch.abandoned, fetch.cancelled) == (0, 0, False)


@pytest.mark.parametrize("ordered", [True, False])
def test_ordered_yields_input_order_unordered_completion_order(server: LocalServer, ordered: bool) -> None:
    urls = [f"{server.url}/sleep/0.3", *(f"{server.url}/echo?n={n}" for n in range(5)), "not a url"]
    with fetch_all(urls, options=FetchOptions(threads=4, ordered=ordered)) as fetch:
        indexes = [result.index for result in fetch]
    if ordered:
        assert indexes == list(range(len(urls)))
    else:
        assert sorted(indexes) == list(range(len(urls)))
        assert indexes[-1] == 0  # the slow one came last


def test_a_given_pool_and_indexes_ordered_by_input_position(server: LocalServer) -> None:
    pairs = [(30, f"{server.url}/sleep/0.2"), (10, f"{server.url}/echo"), (20, f"{server.url}/status/500")]
    with ThreadLocalPool() as pool:
        with Fetch(pairs, pool, FetchOptions(threads=3, ordered=True)) as fetch:
            results = list(fetch)
        assert not pool.closed  # not the fetch's to close
        assert [(r.index, r.url) for r in results] == pairs
        assert [r.status for r in results] == [200, 200, 500]


class _CountingSession(requests.Session):
    """Counts the requests it has in flight per host, and the most ever at once."""

    def __init__(self, counts: dict[str, Any]) -> None:
        super().__init__()
        self.counts = counts

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        host = urlsplit(request.url or "").hostname or ""
        with self.counts["lock"]:
            self.counts["now"][host] += 1
            self.counts["peak"][host] = max(self.counts["peak"][host], self.counts["now"][host])
            self.counts["total_peak"] = max(self.counts["total_peak"], sum(self.counts["now"].values()))
        try:
            return super().send(request, **kwargs)
        finally:
            with self.counts["lock"]:
                self.counts["now"][host] -= 1


@pytest.mark.parametrize("per_host", [2, None])
def test_per_host_limits_requests_in_flight_to_each_host(server: LocalServer, per_host: int | None) -> None:
    counts: dict[str, Any] = {"lock": threading.Lock(), "now": Counter(), "peak": Counter(), "total_peak": 0}
    config = PoolConfig(session_factory=partial(_CountingSession, counts))
    other = server.url.replace("127.0.0.1", "localhost")  # the same server under another host name
    urls = [f"{base}/sleep/0.05?n={n}" for n in range(12) for base in (server.url, other)]
    with fetch_all(urls, config=config, options=FetchOptions(threads=8, per_host=per_host)) as fetch:
        results = list(fetch)
    assert [r.status for r in results] == [200] * len(urls)
    assert set(counts["peak"]) == {"127.0.0.1", "localhost"}
    if per_host is None:
        assert max(counts["peak"].values()) > 2
    else:
        assert max(counts["peak"].values()) <= 2
        assert counts["total_peak"] > 2  # the hosts were still fetched in parallel


def test_host_limiter_forgets_idle_hosts_and_stops_waiting_when_stopped() -> None:
    limiter = HostLimiter(1)
    with limiter.turn("http://A.example/x", lambda: False) as first:
        assert first
        assert limiter.in_flight("a.example") == 1
        with limiter.turn("http://a.example/y", lambda: True) as second:
            assert not second  # the host's one turn is taken, and the run is stopping
    assert limiter.in_flight("a.example") == 0


def test_cancel_loses_no_result_that_came_back(server: LocalServer) -> None:
    urls = [f"{server.url}/sleep/0.1?n={n}" for n in range(60)]
    with fetch_all(urls, options=FetchOptions(threads=4)) as fetch:
        results = [next(fetch)]
        fetch.cancel()
        results += list(fetch)
    assert fetch.cancelled
    assert fetch.abandoned == 0
    assert all(r.status == 200 for r in results)
    sent = {r.path for r in server.requests}  # every request the server saw came back as a result
    assert {r.url.removeprefix(server.url) for r in results} == sent
    assert len(results) + fetch.not_sent <= 2 * 4 + 2  # what was taken: at most twice the threads ahead


@pytest.mark.parametrize("how", ["wait=False", "twice", "grace"])
def test_cancel_gives_up_on_requests_in_flight(server: LocalServer, how: str) -> None:
    with LocalServer(silent=True) as silent:  # reads each request and never answers
        urls = [f"{server.url}/echo", f"{silent.url}/a", f"{silent.url}/b"]
        options = FetchOptions(threads=3, ordered=True, grace=0.2 if how == "grace" else None)
        with fetch_all(urls, config=PoolConfig(timeout=4.0), options=options) as fetch:
            first = next(fetch)
            assert wait_until(lambda: len(silent.requests) == 2, seconds=SECONDS)
            stopped = time.monotonic()
            if how == "wait=False":
                fetch.cancel(wait=False)
            else:
                fetch.cancel()
                if how == "twice":
                    fetch.cancel()
            rest = list(fetch)
        assert time.monotonic() - stopped < 3  # neither the 4 s timeout nor the 6 s grace it implies
    assert (first.index, first.status, rest) == (0, 200, [])
    assert fetch.abandoned == 2


def test_input_is_taken_at_most_twice_the_threads_ahead(server: LocalServer) -> None:
    pulled: list[int] = []

    def endless() -> Iterator[str]:
        for n in itertools.count():
            pulled.append(n)
            yield f"{server.url}/echo?n={n}"

    with fetch_all(endless(), options=FetchOptions(threads=2)) as fetch:
        next(fetch)
        # Results not taken hold their places: 2 * 2 of them, one given back by next(), and one URL in hand.
        assert wait_until(lambda: len(pulled) >= 2 * 2 + 1, seconds=SECONDS)
        assert not wait_until(lambda: len(pulled) > 2 * 2 + 2, seconds=0.3)
    assert fetch.pool.closed


@pytest.mark.parametrize("threads", [1, 2])
def test_an_input_that_raises_is_raised_after_the_results_taken_before(server: LocalServer, threads: int) -> None:
    # The first URL holds a worker while the input raises: the URLs taken
    # after it are still waiting for a worker then, and must be fetched all the same.
    def failing() -> Iterator[str]:
        yield f"{server.url}/sleep/0.3"
        yield f"{server.url}/echo"
        yield f"{server.url}/status/204"
        raise OSError("the input broke")

    fetch = fetch_all(failing(), options=FetchOptions(threads=threads))
    results: list[FetchResult] = []
    with pytest.raises(OSError, match="the input broke"):
        results.extend(fetch)
    assert sorted(r.status or 0 for r in results) == [200, 200, 204]
    assert fetch.not_sent == 0
    assert list(fetch) == []
    assert fetch.pool.closed


def test_a_dropped_fetch_closes_its_pool(server: LocalServer) -> None:
    fetch = fetch_all([f"{server.url}/echo"] * 5, options=FetchOptions(threads=2))
    next(fetch)
    pool = fetch.pool
    del fetch
    gc.collect()
    assert pool.closed


def test_fetch_one_sends_one_request_and_saves_the_body(server: LocalServer, tmp_path: Path) -> None:
    options = FetchOptions(method="head", save_dir=str(tmp_path / "bodies"))
    with QueuePool(size=1) as pool:
        result = fetch_one(pool, f"{server.url}/echo", options, index=7)
        malformed = fetch_one(pool, "http://exa mple.com/", index=8)
    closed = fetch_one(pool, f"{server.url}/echo")
    assert (result.index, result.status, result.attempts, result.size) == (7, 200, 1, 0)
    assert [(r.method, r.path) for r in server.requests] == [("HEAD", "/echo")]
    assert Path(result.saved or "").parent == tmp_path / "bodies"
    assert Path(result.saved or "").read_bytes() == b""
    assert (malformed.index, malformed.attempts, malformed.status) == (8, 0, None)
    assert kind_of(malformed) == "InvalidURL"
    assert (kind_of(closed), closed.attempts) == ("PoolClosed", 0)


def test_a_url_with_any_white_space_or_unprintable_character_is_refused_unsent() -> None:
    # Every code point up to U+3100 (every white space character among them), and every 97th one above it but
    # the surrogates (refused before as not UTF-8), in the middle of an otherwise valid URL.
    codes = [*range(0x3100), *range(0x3100, 0xD800, 97), *range(0xE000, 0x110000, 97)]
    refused = [code for code in codes if url_problem(f"http://example.com/a{chr(code)}b") is not None]
    assert refused == [code for code in codes if chr(code).isspace() or not chr(code).isprintable()]
    assert {0x20, 0x09, 0x0A, 0x00, 0x7F, 0x85, 0xA0, 0x2028, 0x3000} <= set(refused)
    assert isinstance(url_problem("http://example.com/a\u3000b"), requests.exceptions.InvalidURL)


def test_a_save_dir_that_cannot_be_made_fails_at_once(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(FileExistsError):
        fetch_all(["http://127.0.0.1/"], options=FetchOptions(save_dir=str(tmp_path / "file")))


def test_urls_must_not_be_one_string() -> None:
    with pytest.raises(TypeError, match="not a single str"):
        fetch_all("http://example.com/")


def test_reorder_holds_back_until_the_gap_fills_or_is_skipped() -> None:
    def result(n: int) -> FetchResult:
        return FetchResult(index=n, url=f"u{n}", final_url=None, status=200, size=0, elapsed_ms=0.0, attempts=1)

    reorder = Reorder()
    assert reorder.push(2, result(2)) == []
    assert reorder.push(1, result(1)) == []
    assert reorder.push(0, None) == [result(1), result(2)]  # never sent: no result, no longer waited for
    assert reorder.push(5, result(5)) == []
    assert reorder.flush() == [result(5)]  # the end: what is held, in order, past the gaps


@pytest.mark.parametrize(
    ("fields", "error", "named"),
    [
        ({"threads": 0}, ValueError, "FetchOptions.threads must be an int >= 1"),
        ({"threads": 2.0}, TypeError, "FetchOptions.threads"),
        ({"method": "GET /"}, ValueError, "FetchOptions.method must be an HTTP method name"),
        ({"method": None}, TypeError, "FetchOptions.method"),
        ({"pool_kind": "local"}, ValueError, "FetchOptions.pool_kind must be 'thread-local' or 'queue'"),
        ({"pool_size": 4}, ValueError, "FetchOptions.pool_size sizes a QueuePool: it needs pool_kind='queue'"),
        ({"pool_kind": "queue", "pool_size": 0}, ValueError, "FetchOptions.pool_size must be an int >= 1"),
        ({"per_host": 0}, ValueError, "FetchOptions.per_host must be an int >= 1"),
        ({"ordered": 1}, TypeError, "FetchOptions.ordered must be True or False"),
        ({"save_dir": Path("x")}, TypeError, "FetchOptions.save_dir must be a directory path (str) or None"),
        ({"grace": -1}, ValueError, "FetchOptions.grace must be a finite number of seconds >= 0"),
    ],
)
def test_options_are_checked_naming_the_field(fields: dict[str, Any], error: type[Exception], named: str) -> None:
    with pytest.raises(error) as raised:
        FetchOptions(**fields)
    assert named in str(raised.value)


def test_options_are_positional_free_and_normalise_the_method() -> None:
    assert FetchOptions(method="head").method == "HEAD"
    with pytest.raises(TypeError):
        FetchOptions("GET")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="options must be a FetchOptions"):
        fetch_all([], options={"threads": 2})  # type: ignore[arg-type]


def test_options_config_and_results_pickle() -> None:
    options = FetchOptions(method="POST", threads=3, pool_kind="queue", pool_size=2, per_host=1, ordered=True)
    config = PoolConfig(headers={"X-A": "b"}, timeout=5.0, retry=RetryPolicy(retry_transient=True))
    result = FetchResult(
        index=3, url="http://h/", final_url=None, status=None, size=None, elapsed_ms=1.5, attempts=2,
        error=ErrorInfo("ConnectionError", "refused"),
    )  # fmt: skip
    for value in (options, config, result, FetchOptions()):
        assert pickle.loads(pickle.dumps(value)) == value
