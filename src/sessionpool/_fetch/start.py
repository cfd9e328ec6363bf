"""The front door of the fetch engine: :func:`fetch_all`, which picks where the URLs are fetched.

With ``FetchOptions(processes=1)`` (the default) they are fetched by threads
of this process, over one pool (:class:`~sessionpool._fetch.run.Run`); with
more, by worker processes (:class:`~sessionpool._fetch.processes.ProcessRun`).
Either way the caller gets a :class:`~sessionpool.Fetch`. A Dask cluster is
the third place: :func:`sessionpool.dask.fetch_all`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sessionpool._config import PoolConfig
from sessionpool._fetch.engine import Fetch, check_options, check_urls, make_pool
from sessionpool._fetch.options import FetchOptions
from sessionpool._fetch.processes import ProcessRun
from sessionpool._fetch.savedir import SaveDir
from sessionpool._green import refuse_green_threads

__all__ = ["fetch_all"]


def fetch_all(urls: Iterable[str], *, config: PoolConfig | None = None, options: FetchOptions | None = None) -> Fetch:
    """Fetch every URL of ``urls`` concurrently through a new pool; iterate over the result to get the records.

    ``urls`` is read lazily, from a thread of its own, at most twice as many
    URLs as there are threads ahead of the results handed out. Each URL,
    malformed ones included, gives one :class:`FetchResult` whose ``index``
    is its position in ``urls``::

        with sessionpool.fetch_all(urls, options=sessionpool.FetchOptions(threads=16, per_host=4)) as fetch:
            for result in fetch:
                print(result.index, result.status, result.error)

    :param urls: the URLs, ``http://`` or ``https://``.
    :param config: the pool's settings (timeout, headers, retry policy ...);
        None: the defaults.
    :param options: how to fetch; None: :class:`FetchOptions` defaults. With
        ``processes`` above 1, the URLs are fetched by that many worker
        processes, each with a pool of its own made from ``config``, each
        serving the hosts its share holds (see :attr:`FetchOptions.processes`).
    :return: a :class:`Fetch` that owns the pool (or the worker processes)
        it made and closes it at the end of the results, or on :meth:`Fetch.close`.
    :raises TypeError: for a ``urls`` that is a single string, or a wrong config or options type.
    :raises OSError: when ``options.save_dir`` cannot be made a directory.
    """
    check_urls(urls)
    options = check_options(options)
    config = PoolConfig.build(config, {})
    if options.processes > 1:
        if options.pool_kind == "thread-local":
            refuse_green_threads()  # here, not in every worker (a fork inherits the patching)
        if options.save_dir is not None:
            SaveDir(Path(options.save_dir))  # fail here, not in every worker
        run = ProcessRun(enumerate(urls), config, options)
        return Fetch._over(run, options, grace=run.grace)
    pool = make_pool(config, options)
    try:
        return Fetch(enumerate(urls), pool, options, close_pool=True)
    except BaseException:
        pool.close()
        raise
