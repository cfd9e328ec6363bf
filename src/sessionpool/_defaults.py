"""The defaults of a pool's settings, each with the reason it is what it is.

Every wait a pool makes and every connection it keeps has a bound; these
are the ones :class:`~sessionpool.PoolConfig` starts from.
"""

from __future__ import annotations

from sessionpool._config_types import Timeout

__all__ = [
    "DEFAULT_KEEPALIVE_EXPIRY",
    "DEFAULT_PER_HOST_PAUSE_MAX",
    "DEFAULT_PER_HOST_WAIT_MAX",
    "DEFAULT_POOL_BLOCK",
    "DEFAULT_POOL_CONNECTIONS",
    "DEFAULT_POOL_MAXSIZE",
    "DEFAULT_PROXY_COOLDOWN",
    "DEFAULT_PROXY_FAILURE_LIMIT",
    "DEFAULT_TIMEOUT",
]

#: How many hosts each session keeps connection pools for (requests' default).
DEFAULT_POOL_CONNECTIONS = 10
#: How many connections each session keeps to one host (requests' default).
DEFAULT_POOL_MAXSIZE = 10
#: Whether a session waits for a free connection to a host rather than open
#: one more that it will not keep (requests' default).
DEFAULT_POOL_BLOCK = False
#: Close a pooled connection idle longer than this rather than reuse it.
#: Servers close idle keep-alive connections after their own timeout (Node
#: and uvicorn after 5 s, gunicorn's async workers after 2 s, nginx after
#: 75 s, cloud load balancers after about 60 s); reusing one just as the
#: server closes it fails the request. 4 s stays clear of the 5 s that most
#: application servers use, with a margin for network delay, so that race
#: rarely happens there, which matters most for requests that are not safe
#: to retry; shorter server timeouts are covered by the retry policy.
DEFAULT_KEEPALIVE_EXPIRY: float | None = 4.0
#: 10 s to connect, 30 s between bytes of the response. requests has no
#: default timeout, which leaves a worker thread hanging forever on a server
#: that stopped answering; these bounds are long enough for slow APIs.
DEFAULT_TIMEOUT: Timeout = (10.0, 30.0)
#: The longest a ``Retry-After`` pauses a host for the whole pool: long
#: enough for a site's usual "come back in a minute", short enough that a
#: server asking for an hour does not stall every thread that long.
DEFAULT_PER_HOST_PAUSE_MAX = 60.0
#: The longest a request waits for its host's turn: a request stuck longer
#: behind a host's limits is reported, not left waiting forever.
DEFAULT_PER_HOST_WAIT_MAX: float | None = 300.0
#: Connect failures in a row after which a proxy of ``proxy_rotation`` is
#: benched: one failure can be a blip, three in a row rarely are.
DEFAULT_PROXY_FAILURE_LIMIT = 3
#: How long a benched proxy gets no requests: long enough for a restarted
#: proxy to come back, short enough not to lose one to a passing fault.
DEFAULT_PROXY_COOLDOWN = 60.0
