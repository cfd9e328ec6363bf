"""How URLs are fetched: the :class:`FetchOptions` value object.

The options, like :class:`~sessionpool.PoolConfig`, are plain values checked
when they are built: they pickle, so the same options can be sent to worker
processes or cluster workers that run the fetch engine there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sessionpool._config_types import Timeout
from sessionpool._validate import check_bool, check_int, check_seconds, describe

__all__ = [
    "DEFAULT_FETCH_THREADS",
    "DEFAULT_MAX_BYTES",
    "GRACE_MARGIN",
    "POOL_KINDS",
    "FetchOptions",
    "PoolKind",
    "grace_seconds",
]

#: The pools the fetch engine can make: a :class:`~sessionpool.ThreadLocalPool`
#: (``thread-local``) or a :class:`~sessionpool.QueuePool` (``queue``).
PoolKind = Literal["thread-local", "queue"]
POOL_KINDS: tuple[PoolKind, ...] = ("thread-local", "queue")
#: Worker threads, when not told: enough to keep a few hosts busy, few enough
#: to stay polite to one.
DEFAULT_FETCH_THREADS = 8
#: The longest body the fetch engine reads, in decoded bytes: 64 MiB is far
#: above any web page, and bounds what a server can make a crawl download
#: (or inflate from a small compressed body) and save to disk.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: Seconds added to the longest part of the request timeout when waiting for
#: requests in flight after a cancel: a request that started just before has
#: the whole timeout to end, and then its body to be read.
GRACE_MARGIN = 2.0
#: The read timeout the grace is based on when the pool's timeout sets none.
_NO_TIMEOUT_GRACE_BASE = 30.0


@dataclass(frozen=True, kw_only=True)
class FetchOptions:
    """How the fetch engine fetches each URL, checked when built.

    Everything here is a plain value, so the options pickle and can be sent
    to other processes; what every session shares (timeout, headers, auth,
    retry policy) belongs in :class:`~sessionpool.PoolConfig` instead.

    :param method: the HTTP method of every request, ASCII letters (stored
        in capitals).
    :param threads: worker threads sending requests (in each worker
        process, with ``processes``). At most twice as many URLs are taken
        from the input at a time.
    :param processes: worker processes fetching the URLs, each with a pool
        of its own (made from the same :class:`~sessionpool.PoolConfig`) and
        ``threads`` threads; 1: the threads of the calling process only.
        URLs are shared out by host, so each host is served by one process:
        its connections are reused there, and ``per_host`` holds across all
        of them. Only :func:`~sessionpool.fetch_all` starts processes.
    :param pool_kind: the pool :func:`fetch_all` makes: ``"thread-local"``
        (a :class:`~sessionpool.ThreadLocalPool`) or ``"queue"`` (a
        :class:`~sessionpool.QueuePool`). Not used when a pool is given.
    :param pool_size: the QueuePool's size (``pool_kind="queue"`` only);
        None: as many sessions as ``threads``.
    :param per_host: at most this many requests in flight to one host (by
        host name) at any moment, across every thread and worker process;
        None: no limit.
    :param ordered: yield results in input order, holding back those that
        come before an earlier one; otherwise as they come.
    :param save_dir: the path of a directory to save each 2xx body in, under
        a name made from its URL, never outside it (created if needed);
        None: bodies are read, counted and dropped.
    :param robots: read each host's robots.txt once (through the pool) and
        skip the URLs it disallows for the pool's ``User-Agent``, each with a
        result whose error type is ``DisallowedByRobots``; a ``Crawl-delay``
        becomes the host's delay (see :mod:`sessionpool._fetch.robots`).
    :param max_bytes: the longest body read, in decoded bytes (after gzip,
        deflate or brotli): a longer one is cut off there, its connection
        closed, nothing of it saved, and its result has the error type
        ``BodyTooLarge`` (default :data:`DEFAULT_MAX_BYTES`, 64 MiB); None:
        no limit. Bodies are streamed in chunks either way, never held whole.
    :param grace: seconds requests in flight are waited for after
        :meth:`Fetch.cancel`; None: the longest part of the pool's timeout
        plus :data:`GRACE_MARGIN` (see :func:`grace_seconds`).
    """

    method: str = "GET"
    threads: int = DEFAULT_FETCH_THREADS
    processes: int = 1
    pool_kind: PoolKind = "thread-local"
    pool_size: int | None = None
    per_host: int | None = None
    ordered: bool = False
    save_dir: str | None = None
    robots: bool = False
    max_bytes: int | None = DEFAULT_MAX_BYTES
    grace: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", _check_method(self.method))
        check_int("FetchOptions.threads", self.threads, minimum=1)
        check_int("FetchOptions.processes", self.processes, minimum=1)
        if self.pool_kind not in POOL_KINDS:
            allowed = " or ".join(repr(kind) for kind in POOL_KINDS)
            raise ValueError(f"FetchOptions.pool_kind must be {allowed}; got {describe(self.pool_kind)}")
        if self.pool_size is not None:
            check_int("FetchOptions.pool_size", self.pool_size, minimum=1)
            if self.pool_kind != "queue":
                raise ValueError(
                    f"FetchOptions.pool_size sizes a QueuePool: it needs pool_kind='queue', got {self.pool_kind!r}"
                )
        if self.per_host is not None:
            check_int("FetchOptions.per_host", self.per_host, minimum=1)
        check_bool("FetchOptions.ordered", self.ordered)
        check_bool("FetchOptions.robots", self.robots)
        if self.save_dir is not None and (not isinstance(self.save_dir, str) or not self.save_dir):
            raise TypeError(
                f"FetchOptions.save_dir must be a directory path (str) or None; got {describe(self.save_dir)}"
            )
        if self.max_bytes is not None:
            check_int("FetchOptions.max_bytes", self.max_bytes, minimum=1)
        if self.grace is not None:
            object.__setattr__(self, "grace", check_seconds("FetchOptions.grace", self.grace, allow_zero=True))


def grace_seconds(timeout: Timeout) -> float:
    """How long requests in flight are waited for after a cancel: the longest part of ``timeout``, and a margin."""
    if timeout is None:
        return _NO_TIMEOUT_GRACE_BASE + GRACE_MARGIN
    if isinstance(timeout, tuple):
        return max((part for part in timeout if part is not None), default=_NO_TIMEOUT_GRACE_BASE) + GRACE_MARGIN
    return float(timeout) + GRACE_MARGIN


def _check_method(method: object) -> str:
    if not isinstance(method, str):
        raise TypeError(f"FetchOptions.method must be an HTTP method name (str) such as 'GET'; got {describe(method)}")
    if not method.isascii() or not method.isalpha():
        raise ValueError(
            f"FetchOptions.method must be an HTTP method name of ASCII letters such as 'GET'; got {method!r}"
        )
    return method.upper()
