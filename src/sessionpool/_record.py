"""The bookkeeping a pool keeps beside each session: :class:`SessionRecord`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import requests

from sessionpool._baseline import SessionBaseline

if TYPE_CHECKING:
    from sessionpool._adapter import PoolAdapter

__all__ = ["SessionRecord"]


@dataclass(eq=False)
class SessionRecord:
    """One session a pool made, and what the pool knows of it.

    Who may touch which field:

    - ``leases``, ``checkouts``, ``holder``, ``closed``, ``generation``: the
      pool changes them only under its lock. The session's adapter reads
      ``holder`` and ``closed`` without it, to refuse misuse: a thread always
      sees its own checkout, and may see another thread's retirement of the
      session one request late, never refuse a proper use.
    - ``requests_sent``: counted by the adapter while it holds ``sending``
      (so by one thread at a time); the pool reads it at checkout.
    - ``session``, ``baseline``, ``needs_reset``: owned by the thread that
      holds the record outside the pool's idle set (a queue pool's borrower,
      or the thread resetting it before lending it), which no other thread
      can reach; set at creation before anyone else sees the record.
    - ``adapter``, ``created``, ``retire_at``: set once, at creation.

    :param session: the session, configured from the pool's config.
    :param adapter: the pool's adapter mounted on it for ``http://`` and
        ``https://``: what the pool owns, and closes when it retires the session.
    :param created: when it was made (``time.monotonic()``).
    :param leases: how many leases on it are open now. A queue pool lends a
        session once at a time; a thread-local pool lends the same session
        again to a nested ``session()`` in its thread.
    :param checkouts: how many times it has been lent.
    :param closed: whether the pool has closed it.
    :param generation: the pool's generation when it was made; a session of
        an older generation was invalidated, and is retired when reached.
    :param retire_at: the ``clock()`` time after which it is retired at its
        next checkout (its age limit, with jitter), or None.
    :param holder: the ident of the thread that holds the lease: the
        borrower for a queue pool (None while it is idle), the owner thread
        for a thread-local pool. Any thread may send for the holder (a
        helper thread), but only one at a time.
    :param baseline: the session's state as configured, restored when a
        queue pool takes it back.
    :param requests_sent: HTTP requests sent on it, counted by its adapter.
    :param needs_reset: it came back to a queue pool that resets sessions,
        and has not been put back to its baseline yet.
    :param sending: held by the adapter while a request is being sent on the
        session: a second thread that finds it taken is refused.
    """

    session: requests.Session
    adapter: PoolAdapter
    created: float = field(default_factory=time.monotonic)
    leases: int = 0
    checkouts: int = 0
    closed: bool = False
    generation: int = 0
    retire_at: float | None = None
    holder: int | None = None
    baseline: SessionBaseline | None = None
    requests_sent: int = 0
    needs_reset: bool = False
    sending: threading.Lock = field(default_factory=threading.Lock)
