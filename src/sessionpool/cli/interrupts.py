"""Ctrl-C during ``sessionpool fetch``: the first cancels the fetch, the second gives up on requests in flight.

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

__all__ = ["Interrupts"]


class Interrupts:
    """The SIGINT handler for a ``with`` block around a fetch.

    Installed from the main thread only; elsewhere it stays passive (a
    signal handler can only be set there).

    :param fetch: the fetch that Ctrl-C cancels.
    """

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        #: How many times Ctrl-C was pressed during the block.
        self.count = 0
        self._previous: Any = None
        self._installed = False

    @property
    def signalled(self) -> bool:
        """Whether Ctrl-C was pressed during the block."""
        return self.count > 0

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self._fetch.cancel(wait=self.count == 1)
