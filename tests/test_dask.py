"""sessionpool.dask: the worker plugin, worker_pool(), and the fetch engine on a real Dask LocalCluster.

Real worker processes (two per cluster), real servers on loopback addresses
of their own as separate hosts. Tests that do not kill workers share one
module-scoped cluster; those that do share another; every cluster is closed.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import dask.config
import pytest
import requests
from distributed import Client, LocalCluster, Worker

import sessionpool
from helpers import wait_until
from sessionpool import FetchOptions, FetchResult, NoWorkerPool, PoolConfig, PoolError
from sessionpool._fetch.shard import shard_of
from sessionpool.dask import PoolPlugin, fetch_all, worker_pool
from sessionpool.testing import LocalServer

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
SECONDS = 60.0


def local_cluster() -> LocalCluster:
    """Two worker processes of two threads; the dashboard on a free port (8787 may be taken, which warns).

    The workers' profiler is off, as ``sessionpool fetch --dask local:N`` has it: on CPython 3.11 before
    3.11.9 its ``sys._current_frames()`` can deadlock a process that starts threads (CPython gh-116969).
    """
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=":0")


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A client of a cluster shared by the tests that leave its workers alive."""
    with local_cluster() as cluster, Client(cluster) as shared:
        yield shared


@pytest.fixture(scope="module")
def killable() -> Iterator[Client]:
    """A client of a cluster whose workers the tests kill (its nannies start new ones)."""
    with local_cluster() as cluster, Client(cluster) as shared:
        yield shared


@pytest.fixture
def hosts() -> Iterator[list[LocalServer]]:
    """Four servers, each on a loopback address of its own: four hosts."""
    with ExitStack() as stack:
        yield [stack.enter_context(LocalServer(host=host)) for host in HOSTS]


def registered_plugins(client: Client) -> list[str]:
    return list(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins)))


def outcome(result: FetchResult) -> tuple[str, int | None, int | None]:
    return result.url, result.status, result.size


def collect(fetch: sessionpool.Fetch) -> list[FetchResult]:
    """Every result of ``fetch``, within :data:`SECONDS`."""
    deadline = time.monotonic() + SECONDS
    results = []
    with fetch:
        for result in fetch:
            results.append(result)
            assert time.monotonic() < deadline, "the fetch ran too long"
    return results


# -- in tasks: what a worker sees ----------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """What a task saw of its worker's pool."""

    pid: int
    pool: int  # id() of the pool object, in the worker's process
    requests: int
    connections: int


def use_worker_pool(url: str, times: int, name: str | None = None) -> Seen:
    pool = worker_pool(name)
    for _ in range(times):
        pool.get(url).raise_for_status()
    stats = pool.stats()
    return Seen(os.getpid(), id(pool), stats.requests, stats.connections_opened)


def pool_kind(name: str | None = None) -> str:
    return type(worker_pool(name)).__name__


class RecordingPlugin(PoolPlugin):
    """A PoolPlugin that writes, at teardown, whether the pool it made is closed (a file per worker process)."""

    def __init__(self, config: PoolConfig, directory: str) -> None:
        super().__init__(config)
        self.directory = directory

    def teardown(self, worker: Worker) -> None:
        pool = self._pool  # the pool setup() made, looked at after the plugin's own teardown
        super().teardown(worker)
        closed = pool is not None and pool.closed
        Path(self.directory, str(os.getpid())).write_text("closed" if closed else "open")


# -- the plugin and worker_pool -------------------------------------------------------------------


def test_plugin_is_named_by_its_config_and_pickles() -> None:
    config = PoolConfig(timeout=5.0)
    plugin = PoolPlugin(config)
    assert PoolPlugin(PoolConfig(timeout=5.0)).name == plugin.name  # equal configs, one plugin
    assert PoolPlugin(PoolConfig(timeout=6.0)).name != plugin.name
    assert plugin.name.startswith("sessionpool-pool-")
    copy = pickle.loads(pickle.dumps(PoolPlugin(config, kind="queue", size=3)))
    assert (copy.name, copy.config, copy.kind, copy.size) == (plugin.name, config, "queue", 3)


def test_plugin_refuses_a_config_that_cannot_reach_the_workers() -> None:
    with pytest.raises(pickle.PicklingError, match="session_factory"):
        PoolPlugin(PoolConfig(session_factory=lambda: requests.Session()))


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"config": "timeout=5"}, TypeError, "config must be a sessionpool.PoolConfig"),
        ({"kind": "lifo"}, ValueError, "kind must be 'thread-local' or 'queue'"),
        ({"kind": "queue", "size": 0}, ValueError, "size must be an int >= 1"),
        ({"kind": "queue", "size": "2"}, TypeError, "size must be an int >= 1"),
        ({"size": 4}, ValueError, "needs kind='queue'"),
    ],
)
def test_plugin_checks_its_arguments(arguments: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        PoolPlugin(**arguments)  # type: ignore[arg-type]


def test_the_package_and_its_command_line_do_not_import_distributed() -> None:
    code = "import sys, sessionpool, sessionpool.cli.command; sys.exit('distributed' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=SECONDS).returncode == 0


def test_worker_pool_outside_a_worker_says_what_to_do() -> None:
    with pytest.raises(NoWorkerPool, match="outside a Dask task") as raised:
        worker_pool()
    assert isinstance(raised.value, PoolError)


def test_worker_pool_without_the_plugin_raises_on_the_worker(client: Client) -> None:
    with pytest.raises(NoWorkerPool, match="no PoolPlugin is registered"):
        client.submit(worker_pool, pure=False).result(timeout=SECONDS)


def test_each_worker_has_a_pool_of_its_own_closed_when_the_plugin_goes(client: Client, server: LocalServer) -> None:
    plugin = PoolPlugin(PoolConfig(timeout=5.0))
    client.register_plugin(plugin)
    try:
        client.register_plugin(PoolPlugin(PoolConfig(timeout=5.0), kind="queue"))  # the same config: no change
        workers = sorted(client.nthreads())
        assert len(workers) == 2
        seen = {
            worker: client.submit(use_worker_pool, server.url, 3, workers=[worker], pure=False).result(SECONDS)
            for worker in workers
        }
        again = {
            worker: client.submit(use_worker_pool, server.url, 2, workers=[worker], pure=False).result(SECONDS)
            for worker in workers
        }
        assert client.submit(pool_kind, pure=False).result(SECONDS) == "ThreadLocalPool"
        # Outside a task, client.run hands each worker to the function: the same pools' counters.
        requests_run = client.run(lambda dask_worker: worker_pool(worker=dask_worker).stats().requests)
    finally:
        client.unregister_worker_plugin(plugin.name)
    assert requests_run == {worker: 5 for worker in workers}
    assert len({first.pid for first in seen.values()}) == 2  # two processes, each with its own pool
    for worker in workers:
        assert again[worker].pool == seen[worker].pool  # one pool per worker, kept between tasks
        assert (seen[worker].requests, again[worker].requests) == (3, 5)  # counted per worker
        # A task runs in one of the worker's two threads, each with a session (and a connection) of its own.
        assert 1 <= again[worker].connections <= 2
    assert server.connections_accepted == sum(seen_again.connections for seen_again in again.values())
    # Unregistered: each worker's teardown closed its pool and the connections with it.
    assert wait_until(lambda: server.open_connections == 0, seconds=10)
    with pytest.raises(NoWorkerPool):
        client.submit(worker_pool, plugin.name, pure=False).result(SECONDS)


def test_worker_pool_picks_the_named_plugin_among_several(client: Client) -> None:
    thread_local = PoolPlugin(PoolConfig(timeout=5.0))
    queue = PoolPlugin(PoolConfig(timeout=7.0), kind="queue", size=2)
    client.register_plugin(thread_local)
    client.register_plugin(queue)
    try:
        with pytest.raises(NoWorkerPool, match="say which"):
            client.submit(worker_pool, pure=False).result(SECONDS)
        assert client.submit(pool_kind, queue.name, pure=False).result(SECONDS) == "QueuePool"
        assert client.submit(pool_kind, thread_local.name, pure=False).result(SECONDS) == "ThreadLocalPool"
        with pytest.raises(NoWorkerPool, match="no PoolPlugin named 'nope'"):
            client.submit(worker_pool, "nope", pure=False).result(SECONDS)
    finally:
        client.unregister_worker_plugin(thread_local.name)
        client.unregister_worker_plugin(queue.name)


def test_pools_close_when_the_cluster_closes(server: LocalServer, tmp_path: Path) -> None:
    with local_cluster() as cluster, Client(cluster) as own:
        own.register_plugin(RecordingPlugin(PoolConfig(timeout=5.0), str(tmp_path)))
        pids = set(own.run(os.getpid).values())
        for worker in own.nthreads():
            own.submit(use_worker_pool, server.url, 2, workers=[worker], pure=False).result(SECONDS)
        assert server.open_connections >= 2
        own.close()
    # Every worker's teardown ran, with its pool closed, and no connection is left open.
    assert {int(path.name): path.read_text() for path in tmp_path.iterdir()} == dict.fromkeys(pids, "closed")
    assert wait_until(lambda: server.open_connections == 0, seconds=10)


# -- fetch_all on the cluster -----------------------------------------------------------------


def test_cluster_gives_the_same_records_as_threads_each_url_once(client: Client, hosts: list[LocalServer]) -> None:
    urls = [f"{server.url}/echo?n={n}" for n in range(50) for server in hosts] + ["not a url"]
    options = FetchOptions(threads=4)
    threads = collect(sessionpool.fetch_all(urls, options=options))
    fetch = fetch_all(client, iter(urls), options=options)
    cluster = collect(fetch)
    assert Counter(result.index for result in cluster) == Counter(range(len(urls)))
    assert Counter(map(outcome, cluster)) == Counter(map(outcome, threads))
    assert all(urls[result.index] == result.url for result in cluster)
    stats = fetch.stats()  # every worker's pool, added up
    assert stats.requests == 200
    assert 0 < stats.connections_opened < stats.requests  # connections reused within each worker's pool
    assert not [name for name in registered_plugins(client) if name.startswith("sessionpool-")]  # unregistered


def test_per_host_limit_holds_across_workers(client: Client, hosts: list[LocalServer]) -> None:
    slots = 4 * 2  # ClusterRun's slots for two workers
    first = hosts[0]
    second = next(server for server in hosts[1:] if shard_of(server.url, slots) != shard_of(first.url, slots))
    urls = [f"{server.url}/sleep/0.05?n={n}" for n in range(40) for server in (first, second)]
    results = collect(fetch_all(client, urls, options=FetchOptions(threads=4, per_host=2)))
    assert sorted(result.index for result in results) == list(range(len(urls)))
    assert all(result.status == 200 for result in results)
    for server in (first, second):
        assert 1 < server.peak_in_flight <= 2


def test_a_plugin_registered_before_is_used_and_left_in_place(client: Client, server: LocalServer) -> None:
    config = PoolConfig(timeout=5.0, headers={"X-Test": "user"})
    plugin = PoolPlugin(config, kind="queue", size=4)
    client.register_plugin(plugin)
    try:
        fetch = fetch_all(client, [server.url + "/echo"] * 5, config=config, options=FetchOptions(threads=2))
        assert [result.status for result in collect(fetch)] == [200] * 5
        assert plugin.name in registered_plugins(client)
        assert client.submit(pool_kind, plugin.name, pure=False).result(SECONDS) == "QueuePool"
        assert all(request.headers["X-Test"] == "user" for request in server.requests)
    finally:
        client.unregister_worker_plugin(plugin.name)


def test_fetch_all_checks_its_arguments(client: Client) -> None:
    with pytest.raises(ValueError, match=r"FetchOptions.processes must be 1 .* the cluster's workers"):
        fetch_all(client, ["http://127.0.0.1/"], options=FetchOptions(processes=2))
    with pytest.raises(TypeError, match="urls must be an iterable of URLs"):
        fetch_all(client, "http://127.0.0.1/")
    with pytest.raises(TypeError, match=r"client must be a distributed\.Client"):
        fetch_all("tcp://127.0.0.1:8786", ["http://127.0.0.1/"])  # type: ignore[arg-type]
    with pytest.raises(pickle.PicklingError, match="session_factory"):
        fetch_all(client, ["http://127.0.0.1/"], config=PoolConfig(session_factory=lambda: requests.Session()))
    with pytest.raises(ValueError, match=r"batch_size must be an int >= 1, got 0"):
        fetch_all(client, ["http://127.0.0.1/"], batch_size=0)


def test_cancel_stops_the_batches_and_every_url_comes_out_at_most_once(client: Client, server: LocalServer) -> None:
    urls = [f"{server.url}/sleep/0.05?n={n}" for n in range(400)]
    fetch = fetch_all(client, urls, options=FetchOptions(threads=4))
    results: list[FetchResult] = []
    started = time.monotonic()
    with fetch:
        for result in fetch:
            results.append(result)
            if len(results) == 10:
                fetch.cancel()
    assert time.monotonic() - started < 20
    assert fetch.cancelled
    assert len({result.index for result in results}) == len(results)
    assert fetch.not_sent > 0
    assert len(results) < len(urls)
    assert len(server.requests) == len(results)  # what was not sent was not sent
    assert wait_until(lambda: not [n for n in registered_plugins(client) if n.startswith("sessionpool-")])


# -- workers that die -------------------------------------------------------------------------


def executing_batches(dask_worker: Worker) -> list[str]:
    """On a worker: the keys of the fetch batches it is running now."""
    return [str(task.key) for task in dask_worker.state.executing if "-batch-" in str(task.key)]


def kill_a_worker_once_results_came(client: Client, fetch: sessionpool.Fetch, enough: int) -> list[FetchResult]:
    """Collect the results, killing (SIGKILL) a worker running a batch once ``enough`` came back."""
    client.wait_for_workers(2, timeout=SECONDS)
    pids: dict[str, int] = client.run(os.getpid)
    killed: list[int] = []
    deadline = time.monotonic() + SECONDS
    results = []
    with fetch:
        for result in fetch:
            results.append(result)
            if len(results) >= enough and not killed:
                busy = [worker for worker, keys in client.run(executing_batches).items() if keys]
                if busy:  # else between two batches: try again at the next result
                    time.sleep(0.05)  # the batch has sent its first requests (each lasts 0.2 s)
                    killed.append(pids[busy[0]])
                    os.kill(killed[0], signal.SIGKILL)
            assert time.monotonic() < deadline, "the fetch ran too long"
    assert killed, "the fetch ended before a worker could be killed"
    assert wait_until(lambda: killed[0] not in client.run(os.getpid).values(), seconds=10)
    return results


def test_a_worker_killed_mid_run_every_url_still_once(killable: Client, hosts: list[LocalServer]) -> None:
    urls = [f"{server.url}/sleep/0.2?n={n}" for n in range(20) for server in hosts]
    fetch = fetch_all(killable, urls, options=FetchOptions(threads=4), batch_size=8)  # batches to kill mid-run
    results = kill_a_worker_once_results_came(killable, fetch, 10)
    assert Counter(result.index for result in results) == Counter(range(len(urls)))
    assert all(urls[result.index] == result.url for result in results)
    # GET is safe to send twice: the killed worker's batch ran again elsewhere, sending some URLs a second time.
    assert all(result.status == 200 for result in results), [r.error for r in results if r.error]
    assert sum(len(server.requests) for server in hosts) > len(urls)


def test_a_post_batch_whose_worker_died_is_not_sent_again(killable: Client, hosts: list[LocalServer]) -> None:
    urls = [f"{server.url}/sleep/0.2?n={n}" for n in range(20) for server in hosts]
    fetch = fetch_all(killable, urls, options=FetchOptions(threads=4, method="POST"), batch_size=8)
    results = kill_a_worker_once_results_came(killable, fetch, 10)
    assert Counter(result.index for result in results) == Counter(range(len(urls)))
    died = [result for result in results if result.error is not None]
    assert died, "no batch was lost with the killed worker"
    assert {result.error.type for result in died if result.error} == {"WorkerDied"}
    sent = Counter((server.host, request.path) for server in hosts for request in server.requests)
    assert max(sent.values()) == 1  # not one POST went out twice


def test_a_batch_that_kills_its_workers_too_often_gives_worker_died(killable: Client, hosts: list[LocalServer]) -> None:
    def allow_failures(count: int) -> None:
        killable.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", count))

    urls = [f"{server.url}/sleep/0.2?n={n}" for n in range(20) for server in hosts]
    allow_failures(0)  # the first worker death fails the batch with KilledWorker
    try:
        results = kill_a_worker_once_results_came(
            killable, fetch_all(killable, urls, options=FetchOptions(threads=4), batch_size=8), 10
        )
    finally:
        allow_failures(3)
    assert Counter(result.index for result in results) == Counter(range(len(urls)))
    died = [result for result in results if result.error is not None]
    assert died, "no batch was lost with the killed worker"
    assert {result.error.type for result in died if result.error} == {"WorkerDied"}
    assert all("died while running it, too often" in result.error.message for result in died if result.error)
