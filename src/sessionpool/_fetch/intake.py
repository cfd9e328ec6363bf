"""The input side every backend shares: :class:`Intake`, the thread that takes URLs from the input.

It reads ``(index, url)`` pairs lazily, numbers each pair it takes (its
``seq``), waits for one of a fixed number of places before handing it to
the backend, and puts :class:`~.backend.InputFailed` and
:class:`~.backend.InputEnd` on the results queue when the input raises or
ends. A place is given back when the caller receives the URL's result
(:meth:`Intake.received`), so a caller that stops reading stops the input
too, and memory stays bounded whatever the input's length.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

from sessionpool._fetch.backend import Entry, InputEnd, InputFailed, Taken

__all__ = ["Intake"]

#: How long the input thread waits for a place at a time before looking at the stop condition again.
_POLL = 0.1


class Intake:
    """Takes URLs from ``items`` on a thread of its own, for at most ``places`` not yet received by the caller.

    :param items: the ``(index, url)`` pairs.
    :param places: URLs taken and not yet received by the caller, at most.
    :param results: where :class:`~.backend.InputFailed`, :class:`~.backend.InputEnd`
        and the outcome of a URL taken without a place go.
    :param stopped: whether the backend is stopping (a flag a signal handler may set).
    """

    def __init__(
        self,
        items: Iterator[tuple[int, str]],
        places: int,
        results: queue.SimpleQueue[Entry],
        stopped: Callable[[], bool],
    ) -> None:
        self._items = items
        self._room = threading.Semaphore(places)
        self._results = results
        self._stopped = stopped
        self._lock = threading.Lock()
        self._taken = 0

    def taken_so_far(self) -> int:
        """URLs taken from the input; final once the backend stops or the input ended."""
        with self._lock:
            return self._taken

    def received(self, entry: Taken) -> None:
        """The caller took ``entry``: give its place back."""
        if entry.roomed:
            self._room.release()

    def start(self, hand_out: Callable[[int, int, str], None], *, at_end: Callable[[], None], name: str) -> None:
        """Start the input thread.

        :param hand_out: called with ``(seq, index, url)`` for each URL taken
            that holds a place; it puts the URL's outcome on the results
            queue, now or later, as a :class:`~.backend.Taken` with ``roomed=True``.
        :param at_end: called on the input thread when it takes no more URLs, before :class:`~.backend.InputEnd`.
        :param name: the thread's name.
        """
        # A daemon: it may be blocked reading an input that never ends (a pipe), and must not hold up the exit.
        threading.Thread(target=self._take_all, args=(hand_out, at_end), name=name, daemon=True).start()

    def _take_all(self, hand_out: Callable[[int, int, str], None], at_end: Callable[[], None]) -> None:
        try:
            while not self._stopped():
                try:
                    index, url = next(self._items)
                except StopIteration:
                    return
                if not isinstance(url, str) or isinstance(index, bool) or not isinstance(index, int):
                    raise TypeError(f"the input must give (index, url) pairs of int and str, got {(index, url)!r}")
                with self._lock:
                    if self._stopped():
                        return  # read after the stop: not taken
                    seq = self._taken
                    self._taken += 1
                if not self._wait_for_room():
                    self._results.put(Taken(seq, None))
                    return
                hand_out(seq, index, url)
        except BaseException as error:  # the caller raises it, after the results of the URLs taken
            self._results.put(InputFailed(error))
        finally:
            at_end()
            self._results.put(InputEnd())

    def _wait_for_room(self) -> bool:
        while not self._room.acquire(timeout=_POLL):
            if self._stopped():
                return False
        if self._stopped():
            self._room.release()
            return False
        return True
