"""The fetch engine: URLs in, result records out, through pools in threads, worker processes or a cluster.

- :mod:`.start`: :func:`fetch_all`, which picks where the URLs are fetched;
- :mod:`.engine`: :class:`Fetch`, the caller's side of every fetch;
- :mod:`.backend`: what a fetch asks of where its URLs are fetched, and the entries that come back;
- :mod:`.intake`: the input thread every backend shares (numbering, places, the input's end);
- :mod:`.run`: there, in threads of this process, over one pool;
- :mod:`.processes` and :mod:`.worker`: there, in worker processes, each with its own pool;
- :mod:`.cluster` and :mod:`.batch`: there, on a Dask cluster, as batches on each worker's pool
  (through :mod:`sessionpool.dask`, which imports them);
- :mod:`.shard`: which worker serves a URL (by host);
- :mod:`.one`: one URL through a pool, as one :class:`FetchResult`;
- :mod:`.options`, :mod:`.result`: the plain, picklable values in and out;
- :mod:`.hostlimit`: the most requests in flight to one host;
- :mod:`.savedir`: response bodies written to a directory.
"""

from sessionpool._fetch.engine import Fetch
from sessionpool._fetch.one import fetch_one
from sessionpool._fetch.options import FetchOptions
from sessionpool._fetch.result import ErrorInfo, FetchResult
from sessionpool._fetch.start import fetch_all

__all__ = ["ErrorInfo", "Fetch", "FetchOptions", "FetchResult", "fetch_all", "fetch_one"]
