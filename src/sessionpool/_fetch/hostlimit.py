"""At most N requests in flight to one host: the fetch engine's per-host limit.

The limit holds across the threads of one fetch, which share one
:class:`HostLimiter`; it does not reach other processes. Hosts are told apart
by host name (case-insensitive), not by port or scheme: politeness is owed to
a server, whichever port it answers on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

__all__ = ["HostLimiter", "host_of"]

#: How long a thread waiting for a host's turn sleeps at a time before looking
#: at its stop condition again (a condition that a signal handler may set, so
#: it cannot be an event waited on).
_POLL = 0.1


def host_of(url: str) -> str:
    """The host name of ``url``, in lower case; empty if it has none."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class HostLimiter:
    """At most ``per_host`` requests in flight to one host at any moment.

    Only hosts with a request in flight are remembered, so a crawl over
    millions of hosts holds no more state than it has threads.
    """

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._changed = threading.Condition(threading.Lock())
        self._active: dict[str, int] = {}

    def in_flight(self, host: str) -> int:
        """How many turns ``host`` has taken and not given back."""
        with self._changed:
            return self._active.get(host, 0)

    @contextmanager
    def turn(self, url: str, stopped: Callable[[], bool]) -> Iterator[bool]:
        """Hold one of the host's turns for the block.

        Waits while the host has ``per_host`` requests in flight; yields
        False, holding none, if ``stopped()`` becomes true first.
        """
        host = host_of(url)
        if not self._take(host, stopped):
            yield False
            return
        try:
            yield True
        finally:
            with self._changed:
                left = self._active[host] - 1
                if left:
                    self._active[host] = left
                else:
                    del self._active[host]
                self._changed.notify_all()

    def _take(self, host: str, stopped: Callable[[], bool]) -> bool:
        with self._changed:
            while self._active.get(host, 0) >= self._per_host:
                if stopped():
                    return False
                self._changed.wait(_POLL)
            self._active[host] = self._active.get(host, 0) + 1
            return True
