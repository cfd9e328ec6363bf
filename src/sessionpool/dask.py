"""Pools on a Dask cluster: :class:`PoolPlugin`, :func:`worker_pool` and :func:`fetch_all` (the ``dask`` extra).

Install with ``pip install 'sessionpool[dask]'``; ``import sessionpool``
never imports this module. ``dask.distributed`` does the distributing: this
module only gives each worker a pool, and runs the fetch engine in tasks.

With Dask code of your own, register a :class:`PoolPlugin` once: every
worker, those that join later included, makes one pool from the plugin's
:class:`~sessionpool.PoolConfig`, closed when the worker closes or the plugin
is unregistered. Inside a task, :func:`worker_pool` is that worker's pool,
shared by every task the worker runs::

    from distributed import Client, LocalCluster

    import sessionpool
    from sessionpool.dask import PoolPlugin, worker_pool

    def status(url: str) -> int:
        return worker_pool().get(url).status_code

    if __name__ == "__main__":
        with LocalCluster(n_workers=2, dashboard_address=":0") as cluster, Client(cluster) as client:
            client.register_plugin(PoolPlugin(sessionpool.PoolConfig(timeout=5.0)))
            futures = client.map(status, ["https://example.org/", "https://example.com/"])
            print(client.gather(futures))

To fetch a list of URLs on the cluster with the fetch engine, and get the
same :class:`~sessionpool.FetchResult` records as with threads::

    with sessionpool.dask.fetch_all(client, urls, options=sessionpool.FetchOptions(threads=8, per_host=2)) as fetch:
        for result in fetch:
            print(result.index, result.status, result.error)
        print(fetch.stats())  # every worker's pool, added up

How the URLs are shared out, why per-host limits hold across workers, and
what happens when a worker dies: see :mod:`sessionpool._fetch.cluster`.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import threading
from collections.abc import Iterable

try:
    import distributed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as error:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "sessionpool.dask needs dask.distributed, which sessionpool's 'dask' extra installs:"
        " pip install 'sessionpool[dask]'"
    ) from error

from sessionpool._base import Pool
from sessionpool._config import PoolConfig
from sessionpool._errors import NoWorkerPool
from sessionpool._fetch.cluster import BATCH_PER_THREAD, ClusterRun
from sessionpool._fetch.engine import Fetch, check_options, check_urls
from sessionpool._fetch.options import POOL_KINDS, FetchOptions, PoolKind
from sessionpool._queuepool import QueuePool
from sessionpool._threadlocal import ThreadLocalPool
from sessionpool._validate import check_int, describe

__all__ = ["PoolPlugin", "fetch_all", "worker_pool"]


class PoolPlugin(WorkerPlugin):
    """A Dask worker plugin that gives every worker one pool, made from ``config``.

    Register it with ``client.register_plugin(PoolPlugin(config))``. Each
    worker makes its pool in :meth:`setup` (workers that join later too) and
    closes it in :meth:`teardown`, when the worker closes or the plugin is
    unregistered (``client.unregister_worker_plugin(plugin.name)``). Tasks
    get it with :func:`worker_pool`.

    The plugin's :attr:`name` is derived from ``config``: registering a
    plugin for an equal config again changes nothing (the pool made first
    stays, whatever the second one's ``kind`` and ``size``), and plugins for
    different configs live side by side, each with its own pool.

    :param config: the configuration of every worker's pool; None: the
        defaults. It is pickled to the workers, so its callables must be
        module-level functions or classes (checked here).
    :param kind: ``"thread-local"``: a :class:`~sessionpool.ThreadLocalPool`,
        a session per worker thread (Dask's worker threads live as long as
        the worker); ``"queue"``: a :class:`~sessionpool.QueuePool` of
        ``size`` sessions, the pool for threads that come and go.
    :param size: the QueuePool's size (``kind="queue"`` only); None: its default.
    :raises TypeError: for a config that is not a PoolConfig, or a size that is not an int.
    :raises ValueError: for an unknown ``kind``, a size below 1, or a size with ``kind="thread-local"``.
    :raises pickle.PicklingError: for a config that cannot be sent to the workers (the message names the field).
    """

    #: Registering a plugin whose name is registered already leaves the first in place (read by Dask).
    idempotent = True

    def __init__(self, config: PoolConfig | None = None, *, kind: PoolKind = "thread-local", size: int | None = None):
        if config is not None and not isinstance(config, PoolConfig):
            raise TypeError(f"PoolPlugin config must be a sessionpool.PoolConfig or None, got {describe(config)}")
        if kind not in POOL_KINDS:
            allowed = " or ".join(repr(allowed) for allowed in POOL_KINDS)
            raise ValueError(f"PoolPlugin kind must be {allowed}, got {describe(kind)}")
        if size is not None:
            check_int("PoolPlugin size", size, minimum=1)
            if kind != "queue":
                raise ValueError(f"PoolPlugin size sizes a QueuePool: it needs kind='queue', got kind={kind!r}")
        self.config = config if config is not None else PoolConfig()
        self.kind: PoolKind = kind
        self.size = size
        # Pickling checks here that the config can reach the workers; the digest names the plugin.
        digest = hashlib.sha256(pickle.dumps(self.config, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()
        #: The plugin's name on the cluster, the same for equal configs: ``sessionpool-pool-`` and a digest.
        self.name = f"sessionpool-pool-{digest[:16]}"
        self._pool: Pool | None = None  # on a worker, between setup and teardown
        self._lock = threading.Lock()

    def setup(self, worker: distributed.Worker) -> None:
        """Make the worker's pool (Dask calls this on every worker, on the worker's event loop)."""
        pool: Pool
        if self.kind == "queue":
            pool = QueuePool(self.config) if self.size is None else QueuePool(self.config, size=self.size)
        else:
            pool = ThreadLocalPool(self.config)
        with self._lock:
            previous, self._pool = self._pool, pool
        if previous is not None:
            previous.close()

    def teardown(self, worker: distributed.Worker) -> None:
        """Close the worker's pool: tasks still using it get :class:`~sessionpool.PoolClosed`."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __getstate__(self) -> dict[str, object]:
        # What goes to the workers: the settings (a subclass's attributes too), never a pool or a lock.
        return {key: value for key, value in self.__dict__.items() if key not in ("_pool", "_lock")}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._pool = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        size = "" if self.size is None else f", size={self.size}"
        return f"PoolPlugin(name={self.name!r}, kind={self.kind!r}{size})"


def worker_pool(name: str | None = None, *, worker: distributed.Worker | None = None) -> Pool:
    """Inside a Dask task: the pool of the worker running it, made by a registered :class:`PoolPlugin`.

    Outside a task, in a function run on every worker by ``client.run``,
    pass the worker Dask gives it, to read each worker's statistics::

        client.run(lambda dask_worker: worker_pool(worker=dask_worker).stats())

    :param name: the plugin's :attr:`PoolPlugin.name`; None: the only
        PoolPlugin registered (an error if there are several).
    :param worker: the worker whose pool to return; None: the one running the task.
    :raises NoWorkerPool: outside a Dask task, when no PoolPlugin (or none of
        that name) is registered on the worker or its pool was closed, or
        when several are and no name was given.
    """
    if worker is None:
        try:
            worker = distributed.get_worker()
        except ValueError:
            raise NoWorkerPool(
                "worker_pool() is called outside a Dask task: call it inside a function run on a worker"
                " (client.submit, client.map) after client.register_plugin(PoolPlugin(config)), or pass the"
                " worker (client.run(lambda dask_worker: worker_pool(worker=dask_worker)))"
            ) from None
    pools = {
        plugin_name: plugin._pool
        for plugin_name, plugin in list(worker.plugins.items())
        if isinstance(plugin, PoolPlugin) and plugin._pool is not None
    }
    if name is not None:
        pool = pools.get(name)
        if pool is None:
            raise NoWorkerPool(
                f"no PoolPlugin named {name!r} is registered on worker {worker.address} (registered: {sorted(pools)});"
                " register it with client.register_plugin(PoolPlugin(config)) and pass its .name"
            )
        return pool
    if not pools:
        raise NoWorkerPool(
            f"no PoolPlugin is registered on worker {worker.address}:"
            " call client.register_plugin(sessionpool.dask.PoolPlugin(config)) before submitting the task"
        )
    if len(pools) > 1:
        raise NoWorkerPool(
            f"{len(pools)} PoolPlugins are registered on worker {worker.address} ({sorted(pools)}):"
            " say which with worker_pool(name=plugin.name)"
        )
    return next(iter(pools.values()))


def fetch_all(
    client: distributed.Client,
    urls: Iterable[str],
    *,
    config: PoolConfig | None = None,
    options: FetchOptions | None = None,
    batch_size: int | None = None,
) -> Fetch:
    """Fetch every URL of ``urls`` on the Dask cluster of ``client``; iterate over the result to get the records.

    The URLs are sent in batches grouped by host, each batch a task fetched
    with ``options.threads`` threads through the worker's pool, and the
    results come back as batches finish: the same :class:`FetchResult`
    records as :func:`sessionpool.fetch_all` gives, one per URL, ``index``
    its position in ``urls``. ``options.per_host`` holds across the whole
    cluster; a URL whose worker died is fetched again on another worker
    (unless its method is not safe to send twice) and still comes out once.

    Each batch starts its own threads on the worker. On CPython 3.11 before
    3.11.9, a thread started while Dask's worker profiler samples stacks can
    deadlock the worker process (CPython gh-116969): there, start the
    workers with ``distributed.worker.profile.enabled: false``, as
    ``sessionpool fetch --dask local:N`` does.

    :param client: a client of the cluster.
    :param urls: the URLs, ``http://`` or ``https://``, read lazily.
    :param config: the settings of every worker's pool; None: the defaults.
        Pickled to the workers: its callables must be module-level.
    :param options: how to fetch; None: :class:`FetchOptions` defaults.
        ``processes`` must be 1: the workers are the processes.
        ``save_dir`` is a directory on each worker's file system (a path
        every worker can write, shared or not). The workers' pools are
        :class:`~sessionpool.QueuePool` objects of ``pool_size`` sessions
        (by default as many as the threads of the batches a worker runs at
        once); ``pool_kind`` is not used, since a batch's threads end with it
        and a thread-local pool would close their connections with them.
    :param batch_size: URLs per batch (one task each); None: 64 per thread
        (``options.threads``), so that the few milliseconds a task costs the
        scheduler and a batch costs in starting its threads are small beside
        its requests. Smaller batches stream results back sooner.
    :return: a :class:`Fetch`; :meth:`Fetch.stats` adds up every worker's
        pool (the counters of a pool since it was made). The plugin that makes the pools is registered on the client
        for the fetch and unregistered when it ends (closing the pools),
        unless a :class:`PoolPlugin` for an equal config was registered
        before, which is then used and left in place.
    :raises TypeError: for a ``urls`` that is a single string, or a wrong client, config or options type.
    :raises ValueError: for ``options.processes`` above 1.
    """
    if not isinstance(client, distributed.Client):
        raise TypeError(f"client must be a distributed.Client, got {describe(client)}")
    check_urls(urls)
    options = check_options(options)
    if options.processes != 1:
        raise ValueError(
            f"FetchOptions.processes must be 1 for a fetch on a Dask cluster, got {options.processes}:"
            " the cluster's workers are the processes"
        )
    if batch_size is not None:
        check_int("batch_size", batch_size, minimum=1)
    config = PoolConfig.build(config, {})
    # As many sessions as a worker's batches have threads at once: every thread holds one while it sends.
    size = options.pool_size or max(client.nthreads().values(), default=1) * options.threads
    plugin = PoolPlugin(config, kind="queue", size=size)
    on_finish = _register(client, plugin)
    try:
        run = ClusterRun(
            client,
            iter(enumerate(urls)),
            config,
            options,
            plugin=plugin.name,
            pool_of=worker_pool,
            on_finish=on_finish,
            batch_size=batch_size or BATCH_PER_THREAD * options.threads,
        )
    except BaseException:
        on_finish()
        raise
    return Fetch._over(run, options, grace=run.grace)


# How many fetches of this process use each plugin they registered, by client and plugin name: the last
# one to end unregisters it, so two fetches with one config on one client do not close each other's pools.
_users: dict[tuple[int, str], int] = {}
_users_lock = threading.Lock()


def _register(client: distributed.Client, plugin: PoolPlugin) -> _Release:
    """Register ``plugin`` for a fetch, unless it is registered already; what to call when the fetch ends."""
    key = (id(client), plugin.name)
    with _users_lock:
        if key in _users:
            _users[key] += 1
            return _Release(client, key)
        # A lambda: cloudpickle sends it by value, so the scheduler needs no sessionpool to run it.
        if plugin.name in client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins)):
            return _Release(client, None)  # the user's: left in place
        client.register_plugin(plugin)
        _users[key] = 1
    return _Release(client, key)


class _Release:
    """Unregisters a fetch's plugin when the last fetch of this process using it ends (once)."""

    def __init__(self, client: distributed.Client, key: tuple[int, str] | None) -> None:
        self._client = client
        self._key = key

    def __call__(self) -> None:
        with _users_lock:
            key, self._key = self._key, None
            if key is None:
                return
            _users[key] -= 1
            if _users[key]:
                return
            del _users[key]
            with contextlib.suppress(Exception):  # the client or the cluster is gone, and its pools with it
                self._client.unregister_worker_plugin(key[1])
