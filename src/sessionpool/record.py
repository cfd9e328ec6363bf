"""The bookkeeping a pool keeps beside each session: :class:`SessionRecord`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests

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
    """

    session: requests.Session
    created: float = field(default_factory=time.monotonic)
    leases: int = 0
    checkouts: int = 0
    closed: bool = False
