"""Where a fetch's URLs are fetched: the :class:`Backend` that a :class:`~sessionpool.Fetch` drives.

A :class:`~sessionpool.Fetch` is the caller's side of every fetch: it hands
out results, keeps input order, counts, and stops on :meth:`~sessionpool.Fetch.cancel`.
Where the requests go out is a backend's job:

- :class:`~sessionpool._fetch.run.Run`: worker threads of this process, over one pool;
- :class:`~sessionpool._fetch.processes.ProcessRun`: worker processes, each with its own pool;
- :class:`~sessionpool._fetch.cluster.ClusterRun`: the workers of a Dask cluster.

Each takes ``(index, url)`` pairs from the input, numbers each pair it takes
(its ``seq``, from 0, in input order), and puts exactly one :class:`Taken`
per pair taken on :attr:`Backend.results`, then one :class:`InputEnd`.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from typing import Protocol, Union

from sessionpool._fetch.result import FetchResult
from sessionpool._stats import PoolStats

__all__ = ["Backend", "Entry", "InputEnd", "InputFailed", "Taken"]


@dataclass(frozen=True)
class Taken:
    """What became of the ``seq``-th URL taken from the input.

    :param seq: its number among the URLs taken, from 0, in input order.
    :param result: its result; None if it was never sent, or given up on in flight.
    :param roomed: it held one of the input's places, to give back when the
        caller receives it (:meth:`Backend.received`).
    :param abandoned: with no result: it was in flight when the backend gave
        up on it, rather than never sent.
    """

    seq: int
    result: FetchResult | None
    roomed: bool = False
    abandoned: bool = False


@dataclass(frozen=True)
class InputEnd:
    """The input has no more URLs (or the backend stopped taking them)."""


@dataclass(frozen=True)
class InputFailed:
    """Reading the input raised ``error``: raised to the caller once the URLs taken are done."""

    error: BaseException


#: What a backend puts on its results queue.
Entry = Union[Taken, InputEnd, InputFailed]


class Backend(Protocol):
    """The executors of one fetch, as a :class:`~sessionpool.Fetch` sees them.

    ``stopping`` and ``abandoning`` are plain attributes, set by the fetch
    (from a signal handler, maybe, so without a lock) and read by the
    backend's threads at least every tenth of a second.
    """

    #: The outcome of every URL taken, then :class:`InputEnd`, in the order they come.
    results: queue.SimpleQueue[Entry]
    #: Take no more URLs, send no more requests; results of requests in flight still come.
    stopping: bool
    #: Do not wait for the requests in flight.
    abandoning: bool

    def start(self) -> None:
        """Start taking URLs and fetching them (at most once)."""

    def taken_so_far(self) -> int:
        """URLs taken from the input; final once ``stopping`` is set or the input ended."""

    def in_flight(self) -> int:
        """URLs taken whose outcome has not been put on :attr:`results` yet."""

    def cancel_queued(self) -> None:
        """Give up the URLs taken but not sent yet: each comes back as never sent."""

    def received(self, entry: Taken) -> None:
        """The caller took ``entry`` off :attr:`results`."""

    def finish(self, *, wait: bool) -> None:
        """Stop everything and release what the backend holds; wait for requests in flight if ``wait``."""

    def stats(self) -> PoolStats:
        """The counters of every pool the backend fetches through, as one snapshot."""
