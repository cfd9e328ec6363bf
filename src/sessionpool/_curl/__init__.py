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
- :mod:`~sessionpool._curl.response`: the response head parsed, and the
  :class:`requests.Response` built over a urllib3 response that reads the
  body from the line;
- :mod:`~sessionpool._curl.errors`: libcurl's result codes as requests'
  exceptions, so the retry policy classifies them as it does urllib3's.

curl_cffi is imported only when a pool with the curl transport makes its
first session; :func:`curl_missing` says, without importing it, why it
cannot be.
"""

from __future__ import annotations

import importlib.util

__all__ = ["CURL_EXTRA_HINT", "curl_missing"]

#: How to get the transport.
CURL_EXTRA_HINT = "install the curl extra: pip install 'sessionpool[curl]' (curl_cffi)"


def curl_missing() -> str | None:
    """Why the curl transport cannot be used here (curl_cffi is not installed), or None if it can."""
    if importlib.util.find_spec("curl_cffi") is None:
        return f"PoolConfig.transport 'curl' needs curl_cffi, which is not installed: {CURL_EXTRA_HINT}"
    return None
