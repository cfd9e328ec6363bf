"""The bookkeeping a pool keeps beside each session: :class:`SessionRecord`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests

from sessionpool.baseline import SessionBaseline

__all__ = ["SessionRecord"]


@dataclass(eq=False)
class SessionRecord:
    """One session a pool made, and what the pool knows of it.

    The pool reads and changes a record only under its lock; the session
    itself is used only by the thread that holds the lease.

    :param session: the session, configured from the pool's config.
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
    :param holder: the ident of the thread allowed to send on it: the
        borrower for a queue pool (None while it is idle), the owner thread
        for a thread-local pool.
    :param baseline: the session's state as configured, restored when a
        queue pool takes it back.
    :param requests_sent: HTTP requests sent on it, counted by its adapter.
    :param needs_reset: it came back to a queue pool that resets sessions,
        and has not been put back to its baseline yet.
    """

    session: requests.Session
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
