"""Which worker serves a URL: URLs are shared out by host, so that each host is served by one worker.

Sharding by host keeps a host's connections in one pool, where they are
reused, and makes a per-host limit that each worker keeps on its own hold
for the whole fetch, with no coordination between workers. The key is the
host name alone, the key of :mod:`~sessionpool._fetch.hostlimit`: a server
answering on several ports or on both schemes is still served by one worker.
"""

from __future__ import annotations

import zlib

from sessionpool._fetch.hostlimit import host_of

__all__ = ["shard_of"]


def shard_of(url: str, shards: int) -> int:
    """The shard of ``url``'s host among ``shards`` (0 to ``shards - 1``): the same in every process and run."""
    return zlib.crc32(host_of(url).encode("utf-8", "backslashreplace")) % shards
