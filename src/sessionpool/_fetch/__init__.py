"""The fetch engine: URLs in, result records out, through a pool (see :mod:`.engine`).

- :mod:`.engine`: :func:`fetch_all` and :class:`Fetch`, the caller's side;
- :mod:`.run`: the input thread, the worker threads and the results queue;
- :mod:`.one`: one URL through a pool, as one :class:`FetchResult`;
- :mod:`.options`, :mod:`.result`: the plain, picklable values in and out;
- :mod:`.hostlimit`: the most requests in flight to one host;
- :mod:`.savedir`: response bodies written to a directory.
"""

from sessionpool._fetch.engine import Fetch, fetch_all
from sessionpool._fetch.one import fetch_one
from sessionpool._fetch.options import FetchOptions
from sessionpool._fetch.result import ErrorInfo, FetchResult

__all__ = ["ErrorInfo", "Fetch", "FetchOptions", "FetchResult", "fetch_all", "fetch_one"]
