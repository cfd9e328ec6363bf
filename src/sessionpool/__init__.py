"""sessionpool: requests sessions for threaded programs, safe and reused.

A pool hands each thread a :class:`requests.Session` of its own, made from
one shared :class:`PoolConfig`, so threads never share a session's mutable
state and connections are kept alive between requests:

- :class:`ThreadLocalPool`: one session per thread, for long-lived workers;
- :class:`QueuePool`: at most ``size`` sessions, borrowed and returned.

Both count what they do in :class:`PoolStats` (``pool.stats()``), including
the TCP connections they opened, which shows whether connections are reused.
"""

from sessionpool.config import PoolConfig
from sessionpool.errors import LeaseError, PoolClosed, PoolError, PoolTimeout, SessionFactoryError
from sessionpool.events import PoolListener
from sessionpool.queuepool import QueuePool
from sessionpool.replay import attempts
from sessionpool.retry import RetryPolicy
from sessionpool.stats import PoolStats
from sessionpool.threadlocal import ThreadLocalPool
from sessionpool.transport import OpenConnections

__version__ = "0.1.0.dev0"

__all__ = [
    "LeaseError",
    "OpenConnections",
    "PoolClosed",
    "PoolConfig",
    "PoolError",
    "PoolListener",
    "PoolStats",
    "PoolTimeout",
    "QueuePool",
    "RetryPolicy",
    "SessionFactoryError",
    "ThreadLocalPool",
    "attempts",
]
