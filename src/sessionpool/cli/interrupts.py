"""Ctrl-C and SIGTERM during ``sessionpool fetch``: the first cancels the fetch, the second gives up at once.

SIGTERM is what ``timeout``, systemd, ``docker stop`` and Kubernetes send to
stop a program, the last three following it with SIGKILL if it is still
running after a while (by default 10 s for ``docker stop``, 30 s for
Kubernetes, 90 s for systemd). It is treated as a first Ctrl-C, so that
the results received are written and the summary printed in that time. A
second signal, of either kind, gives up on the requests in flight at once.
The first signal decides the exit status: 128 plus its number, 130 for
SIGINT and 143 for SIGTERM, as a shell reports a program a signal ended.

The handler only calls :meth:`sessionpool.Fetch.cancel`, which sets flags
and takes no lock, so it is safe whatever the main thread was doing when the
signal came.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from sessionpool import Fetch

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["SIGNALS", "Interrupts"]

#: The signals that stop a fetch: Ctrl-C's, and the one service managers and ``timeout`` send.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """The handler of :data:`SIGNALS` for a ``with`` block around a fetch.

    Installed from the main thread only; elsewhere it stays passive (a
    signal handler can only be set there).

    :param fetch: the fetch that the first signal cancels.
    """

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        #: How many signals came during the block, of either kind.
        self.count = 0
        #: The first signal that came, if any: it decides the exit status.
        self.first: signal.Signals | None = None
        self._previous: dict[signal.Signals, Any] = {}

    @property
    def signalled(self) -> bool:
        """Whether a signal came during the block."""
        return self.first is not None

    @property
    def exit_status(self) -> int | None:
        """128 plus the first signal's number (130 for SIGINT, 143 for SIGTERM); None if none came."""
        return None if self.first is None else 128 + self.first.value

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        while self._previous:
            signum, previous = self._previous.popitem()
            signal.signal(signum, previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.first is None:
            self.first = signal.Signals(signum)
        self._fetch.cancel(wait=self.count == 1)
