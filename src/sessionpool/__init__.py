"""sessionpool: requests sessions for threaded programs, safe and reused.

A pool hands each thread a :class:`requests.Session` of its own, made from
one shared :class:`PoolConfig`, so threads never share a session's mutable
state and connections are kept alive between requests:

- :class:`ThreadLocalPool`: one session per thread, for long-lived workers;
- :class:`QueuePool`: at most ``size`` sessions, borrowed and returned.

Both count what they do in :class:`PoolStats` (``pool.stats()``), including
the TCP connections they opened, which shows whether connections are reused.
"""

from sessionpool._attempts import attempts
from sessionpool._autothrottle import AutoThrottle
from sessionpool._base import Pool
from sessionpool._config import PoolConfig
from sessionpool._connections import OpenConnections
from sessionpool._errors import (
    BodyTooLarge,
    DeadlineExceeded,
    DisallowedByRobots,
    FetchError,
    GreenThreadsUnsupported,
    HostWaitTimeout,
    LeaseError,
    NoWorkerPool,
    PoolClosed,
    PoolError,
    PoolTimeout,
    SessionFactoryError,
    WorkerDied,
)
from sessionpool._events import PoolListener
from sessionpool._fetch import ErrorInfo, Fetch, FetchOptions, FetchResult, fetch_all, fetch_one
from sessionpool._policy import RetryPolicy
from sessionpool._queuepool import QueuePool
from sessionpool._stats import HostStats, PoolStats, ProxyStats
from sessionpool._threadlocal import ThreadLocalPool

__version__ = "0.1.0.dev0"

__all__ = [
    "AutoThrottle",
    "BodyTooLarge",
    "DeadlineExceeded",
    "DisallowedByRobots",
    "ErrorInfo",
    "Fetch",
    "FetchError",
    "FetchOptions",
    "FetchResult",
    "GreenThreadsUnsupported",
    "HostStats",
    "HostWaitTimeout",
    "LeaseError",
    "NoWorkerPool",
    "OpenConnections",
    "Pool",
    "PoolClosed",
    "PoolConfig",
    "PoolError",
    "PoolListener",
    "PoolStats",
    "PoolTimeout",
    "ProxyStats",
    "QueuePool",
    "RetryPolicy",
    "SessionFactoryError",
    "ThreadLocalPool",
    "WorkerDied",
    "attempts",
    "fetch_all",
    "fetch_one",
]
