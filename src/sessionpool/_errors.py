"""The exceptions sessionpool raises of its own.

Every error the package raises about the pool itself derives from
:class:`PoolError`, which derives from :class:`requests.RequestException`, so
code that already catches the latter around its HTTP calls keeps working
when a pool is put in front of them::

    requests.exceptions.RequestException
     └── PoolError          something went wrong with the pool, not the request
          ├── PoolTimeout   no session became free within the checkout timeout
          │                 (also a requests.exceptions.Timeout, so that
          │                 ``except requests.Timeout`` catches it)
          ├── HostWaitTimeout  a request waited longer than per_host_wait_max
          │                 for its host's turn (also a requests Timeout)
          ├── DeadlineExceeded  a request outlived PoolConfig.deadline (its
          │                 connection closed; also a requests Timeout)
          ├── PoolClosed    the pool was used after close()
          ├── LeaseError    a session was used outside its lease, or a
          │                 checkout could never be satisfied
          ├── SessionFactoryError  the session factory made a session the
          │                 pool cannot manage (an adapter of its own on
          │                 http:// or https://)
          ├── NoWorkerPool  sessionpool.dask.worker_pool() outside a Dask
          │                 worker that has the pool plugin
          ├── GreenThreadsUnsupported  a ThreadLocalPool made where gevent
          │                 or eventlet patched threads into greenlets
          └── FetchError    the fetch engine was asked what its executors
               │            cannot give (the pool of a fetch whose pools
               │            live in worker processes or on a cluster)
               ├── DisallowedByRobots  a URL robots.txt forbids (the type
               │            name in that URL's result: recorded, not raised)
               ├── BodyTooLarge  a body longer than FetchOptions.max_bytes
               │            (recorded, not raised; nothing of it saved)
               └── WorkerDied  a worker process or cluster worker died
                            holding a URL (the type name in that URL's
                            result: the error is recorded, not raised)

Errors raised by ``requests`` itself (``ConnectionError``, ``Timeout``, ...)
reach the caller unchanged: the pool never wraps them.

Each error carries its context as attributes, and every attribute survives
pickling (for errors sent across process boundaries by executors).
"""

from __future__ import annotations

from requests.exceptions import RequestException, Timeout

__all__ = [
    "BodyTooLarge",
    "DeadlineExceeded",
    "DisallowedByRobots",
    "FetchError",
    "GreenThreadsUnsupported",
    "HostWaitTimeout",
    "LeaseError",
    "NoWorkerPool",
    "PoolClosed",
    "PoolError",
    "PoolTimeout",
    "SessionFactoryError",
    "WorkerDied",
]


class PoolError(RequestException):
    """Root of the errors sessionpool raises about a pool.

    :param message: what went wrong, for people.
    :param pool: a description of the pool at the moment of the error (its
        ``repr``, which includes its statistics); a string rather than the
        pool itself so that the error neither keeps the pool alive nor fails
        to pickle.
    """

    def __init__(self, message: str, *, pool: str = "") -> None:
        super().__init__(message)
        self.pool = pool

    # BaseException pickles as ``cls(*self.args)`` followed by restoring
    # ``__dict__``: since every context attribute is keyword-only with a
    # default, that round trip keeps them all with no ``__reduce__`` needed.


class PoolTimeout(PoolError, Timeout):
    """No session became free within the pool's checkout timeout.

    :param waited: how long the caller waited, in seconds.
    :param checkout_timeout: the limit it waited against, in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        pool: str = "",
        waited: float = 0.0,
        checkout_timeout: float = 0.0,
    ) -> None:
        super().__init__(message, pool=pool)
        self.waited = waited
        self.checkout_timeout = checkout_timeout


class HostWaitTimeout(PoolError, Timeout):
    """A request waited longer than ``PoolConfig.per_host_wait_max`` for its host's turn.

    Its host had ``per_host_limit`` requests in flight, or its rate, delay or
    a ``Retry-After`` pause would have let it go only later. Nothing was sent.
    """


class DeadlineExceeded(PoolError, Timeout):
    """A request was still under way when ``PoolConfig.deadline`` passed.

    The deadline bounds the whole request: waiting for its host's turn,
    connecting, sending, the response head and the whole body, every
    redirect hop and every replay. When it passes, the connection the
    request is on is shut down (a server that trickles a byte at a time
    cannot hold the thread any longer) and this error is raised, from the
    call or from the read of a streamed body.

    :param deadline: the deadline that passed, in seconds.
    """

    def __init__(self, message: str, *, pool: str = "", deadline: float = 0.0) -> None:
        super().__init__(message, pool=pool)
        self.deadline = deadline


class PoolClosed(PoolError):
    """The pool was used after :meth:`close` was called."""


class LeaseError(PoolError):
    """A session was used in a way its lease does not allow.

    Raised, before anything is sent, when a session lent by a
    :class:`~sessionpool.QueuePool` sends a request after its ``with`` block
    ended, when a session the pool retired sends, when a second thread sends
    on a session while another thread's send on it is under way (a helper
    thread sending for the holder, one at a time, is allowed), when one
    lease is entered twice, and when a thread asks a queue pool for a
    session while it already holds them all (a wait that could never end).
    """


class SessionFactoryError(PoolError):
    """The session factory made a session the pool cannot manage without dropping what it set.

    Raised when the pool makes a session (at the latest at the first
    checkout) whose factory mounted an adapter of its own on a prefix the
    pool's adapter serves (``http://``, ``https://``) or on a longer one
    that would bypass it. The message names the prefix and the
    :class:`~sessionpool.PoolConfig` fields that configure the same thing.
    """


class NoWorkerPool(PoolError):
    """:func:`sessionpool.dask.worker_pool` was called where there is no worker pool.

    That is outside a Dask worker, or on a worker the pool plugin
    (:class:`sessionpool.dask.PoolPlugin`) was not registered with, or after
    the plugin closed the pool.
    """


class GreenThreadsUnsupported(PoolError):
    """A :class:`~sessionpool.ThreadLocalPool` was made where threads are green threads.

    Under gevent's or eventlet's monkey patching (gunicorn's gevent and
    eventlet workers, Celery's gevent pool), ``threading.local`` is local to
    each greenlet: a thread-local pool would make one session, with its own
    connections, per greenlet, thousands of them, none reused. A
    :class:`~sessionpool.QueuePool` is safe there: its waits are patched
    too, and its ``size`` bounds the sessions and connections.
    """


class FetchError(PoolError):
    """The fetch engine was asked for something the way it fetches cannot give.

    Raised, for one, by :attr:`sessionpool.Fetch.pool` when the fetch runs in
    worker processes or on a cluster, where each worker has a pool of its own.
    """


class DisallowedByRobots(FetchError):
    """A URL its host's robots.txt forbids, with ``FetchOptions(robots=True)``.

    It is never raised to the caller: the URL is not fetched, and its
    :class:`~sessionpool.FetchResult` has this error type and says which
    robots.txt and user agent forbade it.
    """


class BodyTooLarge(FetchError):
    """A response body longer than :attr:`FetchOptions.max_bytes <sessionpool.FetchOptions.max_bytes>`.

    It is never raised to the caller: the body is cut off at the limit (its
    connection closed), nothing of it is saved, and the URL's
    :class:`~sessionpool.FetchResult` has this error type, with the status
    of the response. The limit counts decoded bytes, so a small compressed
    body that inflates past it (a decompression bomb) is cut off too.

    :param limit: the limit, in bytes.
    """

    def __init__(self, message: str, *, pool: str = "", limit: int = 0) -> None:
        super().__init__(message, pool=pool)
        self.limit = limit


class WorkerDied(FetchError):
    """A worker process or cluster worker died while it held a URL.

    It is never raised to the caller: a URL whose worker died gets a
    :class:`~sessionpool.FetchResult` whose error type is ``WorkerDied``, so
    that no URL of the input goes missing (and ``sessionpool fetch --resume``
    fetches it again).
    """
