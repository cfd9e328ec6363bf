"""The libcurl transport: ``PoolConfig(transport="curl")``, on curl_cffi (the ``curl`` extra).

Each pooled session sends through :class:`~sessionpool._curl.adapter.CurlAdapter`,
a :class:`~sessionpool._adapter.PoolAdapter` whose one attempt on the wire
goes through libcurl instead of urllib3; everything above the wire (leases,
the deadline, host turns, proxy rotation, replays, statistics, events) is the
pool adapter's own, the same for both transports. The modules:

- :mod:`~sessionpool._curl.line`: a *line*, one libcurl multi handle driving
  one easy handle, holding the connections of one session; one transfer at a
  time, driven from the calling thread with the GIL released while it waits;
- :mod:`~sessionpool._curl.request`: a prepared request as libcurl options
  (method, URL, headers exactly as requests prepared them, body, TLS, proxy);
- :mod:`~sessionpool._curl.options`: a handle's options, gathered for each
  transfer and set with as few calls into libcurl as can be;
- :mod:`~sessionpool._curl.response`: the response head parsed, and the
  :class:`requests.Response` built over a urllib3 response that reads the
  body from the line;
- :mod:`~sessionpool._curl.errors`: libcurl's result codes as requests'
  exceptions, so the retry policy classifies them as it does urllib3's;
- :mod:`~sessionpool._curl.memory_file`: the C streams in memory libcurl
  writes an answer to, so that no byte of it calls back into Python;
- :mod:`~sessionpool._curl.short_calls`: the calls into libcurl that only
  touch a handle's memory, made keeping the GIL.

curl_cffi is imported only when a pool with the curl transport is made (not in
its first request); :func:`curl_missing` says, without importing it, why it
cannot be.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
from typing import Any

__all__ = ["CURL_EXTRA_HINT", "curl_missing", "libc"]

#: How to get the transport.
CURL_EXTRA_HINT = "install the curl extra: pip install 'sessionpool[curl]' (curl_cffi)"


def curl_missing() -> str | None:
    """Why the curl transport cannot be used here (curl_cffi is not installed, or no ``open_memstream``), or None."""
    if importlib.util.find_spec("curl_cffi") is None:
        return f"PoolConfig.transport 'curl' needs curl_cffi, which is not installed: {CURL_EXTRA_HINT}"
    if libc() is None:
        return (
            "PoolConfig.transport 'curl' needs a C library with open_memstream (POSIX: Linux, macOS, the BSDs),"
            " which this platform does not have; use transport='urllib3'"
        )
    return None


@functools.cache
def libc() -> Any:
    """The C library of this process, its calls keeping the GIL (:class:`ctypes.PyDLL`); None: no ``open_memstream``."""
    try:
        found = ctypes.PyDLL(None)  # the program and what it links: the C library among them
        found.open_memstream  # noqa: B018 - the one function a platform may lack
    except (OSError, TypeError, AttributeError):  # Windows: no dlopen(NULL), no open_memstream
        return None
    return found
