"""The fetch engine over worker processes: ``FetchOptions(processes=N)`` and ``sessionpool fetch --processes N``.

Real worker processes (spawned), real servers on 127.0.0.1 and other loopback
addresses as separate hosts. Every process a test starts is found by PID and
checked gone at the end.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from helpers import wait_until
from sessionpool import Fetch, FetchError, FetchOptions, FetchResult, ThreadLocalPool, fetch_all
from sessionpool._fetch.shard import shard_of
from sessionpool.testing import LocalServer

FETCH = [sys.executable, "-m", "sessionpool", "fetch"]
SECONDS = 60
HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


@pytest.fixture
def hosts() -> Iterator[list[LocalServer]]:
    """Three servers, each on a loopback address of its own: three hosts."""
    with ExitStack() as stack:
        yield [stack.enter_context(LocalServer(host=host)) for host in HOSTS]


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def children_of(pid: int) -> list[int]:
    """The PIDs of a process's children, from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not exited (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class CountingInput:
    """An input of a million URLs over the hosts, read lazily, counting how many were read."""

    def __init__(self, hosts: list[LocalServer], path: str) -> None:
        self.read = 0
        self._urls = (f"{hosts[n % len(hosts)].url}{path}?n={n}" for n in range(1_000_000))

    def __iter__(self) -> Iterator[str]:
        for url in self._urls:
            self.read += 1
            yield url


def test_processes_give_the_same_records_as_threads_each_url_once(hosts: list[LocalServer], tmp_path: Path) -> None:
    urls = [f"{server.url}/echo?n={n}" for n in range(60) for server in hosts] + ["not a url"]
    source = tmp_path / "urls.txt"
    source.write_text("".join(f"{url}\n" for url in urls))
    runs = {}
    for name, extra in (("threads", []), ("processes", ["--processes", "2"])):
        done = subprocess.run(
            [*FETCH, "--threads", "4", *extra, str(source)], capture_output=True, text=True, timeout=SECONDS
        )
        assert done.returncode == 1, done.stderr  # the malformed URL is an error
        runs[name] = records(done.stdout)
        assert "pool: 180 HTTP requests" in done.stderr  # the summary adds up every process's pool
    for lines in runs.values():
        assert Counter(line["url"] for line in lines) == Counter(urls)
    as_set = {name: {(line["url"], line["status"], line["bytes"]) for line in lines} for name, lines in runs.items()}
    assert as_set["threads"] == as_set["processes"]


def test_each_host_is_served_by_one_process_and_its_connections_reused(hosts: list[LocalServer]) -> None:
    urls = [f"{server.url}/echo?n={n}" for n in range(50) for server in hosts]
    options = FetchOptions(processes=2, threads=2)
    with fetch_all(urls, options=options) as fetch:
        results = list(fetch)
    assert sorted(result.index for result in results) == list(range(len(urls)))
    assert all(result.status == 200 for result in results)
    stats = fetch.stats()
    assert (stats.requests, stats.sessions_created, stats.sessions_closed) == (150, 4, 4)
    for server in hosts:  # one process's two threads, never both processes' four
        assert server.connections_accepted <= 2
    assert stats.connections_opened == sum(server.connections_accepted for server in hosts)
    shards = {shard_of(server.url, 2) for server in hosts}
    assert shards == {0, 1}  # both processes had work: the three hosts do not all hash alike


def test_ordered_results_come_in_input_order() -> None:
    with LocalServer() as a, LocalServer(host="127.0.0.2") as b:
        urls = [f"{a.url}/sleep/0.02?n={n}" if n % 3 else f"{b.url}/echo?n={n}" for n in range(90)]
        with fetch_all(urls, options=FetchOptions(processes=2, threads=3, ordered=True)) as fetch:
            indices = [result.index for result in fetch]
    assert indices == list(range(90))


def test_the_per_host_limit_holds_across_processes(hosts: list[LocalServer]) -> None:
    urls = [f"{server.url}/sleep/0.05?n={n}" for n in range(24) for server in hosts]
    with fetch_all(urls, options=FetchOptions(processes=2, threads=8, per_host=2)) as fetch:
        results = list(fetch)
    assert len(results) == len(urls)
    assert all(result.status == 200 for result in results)
    peaks = [server.peak_in_flight for server in hosts]
    assert max(peaks) <= 2, peaks
    assert min(peaks) == 2, peaks  # the limit was reached, not merely unneeded


def test_input_is_read_only_a_bounded_window_ahead(hosts: list[LocalServer]) -> None:
    endless = CountingInput(hosts, "/sleep/0.01")
    with fetch_all(endless, options=FetchOptions(processes=2, threads=4)) as fetch:
        for count, _ in enumerate(fetch, 1):
            if count == 300:
                break
    # Each process has at most 4 * threads URLs handed to it, and one batch waiting.
    assert endless.read <= 300 + 2 * (4 * 4 + 4) + 1


def test_an_input_that_raises_is_raised_after_every_url_taken_was_fetched(hosts: list[LocalServer]) -> None:
    def failing() -> Iterator[str]:
        for number in range(12):
            yield f"{hosts[number % 2].url}/sleep/0.2" if number < 2 else f"{hosts[number % 2].url}/echo"
        raise OSError("the input broke")

    fetch = fetch_all(failing(), options=FetchOptions(processes=2, threads=1))
    results: list[FetchResult] = []
    with pytest.raises(OSError, match="the input broke"):
        results.extend(fetch)
    assert [r.status for r in results] == [200] * 12
    assert (fetch.not_sent, fetch.abandoned) == (0, 0)


def test_a_caller_that_stops_reading_stops_the_fetching(hosts: list[LocalServer]) -> None:
    endless = CountingInput(hosts, "/echo")
    with fetch_all(endless, options=FetchOptions(processes=2, threads=4)) as fetch:
        for count, _ in enumerate(fetch, 1):
            if count == 10:
                time.sleep(1.0)  # hundreds of fast requests' time
                break
    assert endless.read <= 10 + 2 * 4 * 4 + 1  # the places of both workers' windows, and the one being read


def test_a_worker_killed_mid_run_loses_no_url(hosts: list[LocalServer]) -> None:
    urls = [f"{server.url}/sleep/0.02?n={n}" for n in range(80) for server in hosts]
    with fetch_all(urls, options=FetchOptions(processes=2, threads=4)) as fetch:
        results: list[FetchResult] = []
        for result in fetch:
            results.append(result)
            if len(results) == 40:
                workers = [child.pid for child in multiprocessing.active_children() if child.pid is not None]
                assert len(workers) == 2
                os.kill(workers[0], signal.SIGKILL)
    assert Counter(result.url for result in results) == Counter(urls)  # each exactly once
    died = [result for result in results if result.error is not None]
    assert all(result.error is not None and result.error.type == "WorkerDied" for result in died)
    assert all("died with exit code -9" in (result.error.message if result.error else "") for result in died)
    assert len([result for result in results if result.status == 200]) + len(died) == len(urls)
    assert len(died) < len(urls) // 2  # a new worker took over the rest of the killed one's hosts
    assert not multiprocessing.active_children()


def test_a_forked_worker_killed_mid_run_loses_no_url_in_the_output(hosts: list[LocalServer], tmp_path: Path) -> None:
    # The command runs no other thread, so its workers are forked (the API tests above spawn theirs).
    urls = [f"{hosts[n % 3].url}/sleep/0.02?n={n}" for n in range(300)]
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    source.write_text("".join(f"{url}\n" for url in urls))
    with subprocess.Popen(
        [*FETCH, "--processes", "2", "--threads", "4", "-o", str(out), str(source)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert wait_until(lambda: out.exists() and out.read_text().count("\n") >= 30, seconds=30)
            workers = [pid for pid in children_of(process.pid) if running(pid)]
            assert len(workers) == 2
            os.kill(workers[0], signal.SIGKILL)
            _, stderr = process.communicate(timeout=SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    lines = records(out.read_text())
    assert Counter(line["url"] for line in lines) == Counter(urls)  # each exactly once
    died = [line for line in lines if line["error"] is not None]
    assert all(line["error"]["type"] == "WorkerDied" for line in died)
    assert process.returncode == (1 if died else 0), stderr
    assert len(died) < len(urls) // 2  # a new worker took over the rest of the killed one's hosts
    assert not any(running(pid) for pid in workers[1:])


def test_ctrl_c_stops_every_process_writes_every_result_and_exits_130(hosts: list[LocalServer], tmp_path: Path) -> None:
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    source.write_text("".join(f"{hosts[n % 3].url}/sleep/0.1?n={n}\n" for n in range(600)))
    with subprocess.Popen(
        [*FETCH, "--processes", "2", "--threads", "4", "-o", str(out), str(source)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert wait_until(lambda: out.exists() and out.read_text().count("\n") >= 20, seconds=30)
            workers = children_of(process.pid)
            assert len([pid for pid in workers if running(pid)]) >= 2
            process.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
            _, stderr = process.communicate(timeout=SECONDS)
            assert time.monotonic() - interrupted < 10  # the requests in flight take 0.1 s
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "reuse ratio" in stderr
    text = out.read_text()
    assert text.endswith("\n")
    lines = records(text)  # every line valid JSON
    assert 20 <= len(lines) < 600
    assert all(line["status"] == 200 for line in lines)
    assert len({line["url"] for line in lines}) == len(lines)
    served = sum(len(server.requests) for server in hosts)
    assert served == len(lines)  # every request that came back was written
    assert wait_until(lambda: not any(running(pid) for pid in workers), seconds=10), workers


def test_fetch_pool_is_refused_for_a_fetch_over_processes() -> None:
    with LocalServer() as server:
        with fetch_all([f"{server.url}/echo"], options=FetchOptions(processes=2)) as fetch:
            with pytest.raises(FetchError, match=r"Fetch.stats\(\)"):
                fetch.pool  # noqa: B018
            assert [result.status for result in fetch] == [200]
        assert fetch.stats().requests == 1


def test_a_fetch_over_a_given_pool_refuses_processes() -> None:
    with ThreadLocalPool() as pool, pytest.raises(ValueError, match=r"FetchOptions.processes must be 1"):
        Fetch([], pool, FetchOptions(processes=2))


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_processes_is_checked_when_options_are_built(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"FetchOptions.processes must be an int >= 1"):
        FetchOptions(processes=value)


@pytest.mark.parametrize("arguments", [["--processes", "0"], ["--processes", "2", "--dask", "local:2"]])
def test_bad_processes_arguments_exit_2(arguments: list[str]) -> None:
    done = subprocess.run([*FETCH, *arguments], capture_output=True, text=True, timeout=SECONDS, input="")
    assert done.returncode == 2
    assert "--processes" in done.stderr or "--dask" in done.stderr
