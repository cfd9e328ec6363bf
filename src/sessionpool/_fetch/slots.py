"""Which URLs of a fetch on a Dask cluster share a batch, and when a batch may go: :class:`Slots`.

URLs are put in batches by slot, ``shard_of(url, slots)``, so all the URLs
of one host are in batches of the same slot. A batch goes when it is full,
when its first URL has waited :data:`FLUSH_SECONDS`, or when the input has
ended; the slots take turns, so that no host's batches starve the others'.

**Per-host limits: host affinity, not Dask resources.** With
``FetchOptions.per_host`` set, at most one batch of a slot is in flight at
any moment: a slot's next batch goes only once its previous one came back.
So all the requests in flight to one host are in one batch, on one worker,
whose :class:`~sessionpool.Fetch` keeps the limit; it holds across the
cluster with no coordination between workers. Dask's worker resources could
only bound tasks per worker, not requests per host across workers (a
resource is a per-worker count), and a semaphore of the scheduler
(``distributed.Semaphore``) taken per request would cost a round trip to
the scheduler for each one. When a worker dies, Dask runs its batches again
elsewhere; the batch died with its worker, so its slot still has one batch
in flight. Without ``per_host``, several batches of a slot may be in flight
at once, on different workers.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools

from sessionpool._fetch.shard import shard_of

__all__ = ["FLUSH_SECONDS", "SLOTS_PER_WORKER", "Batch", "Slots"]

#: Slots per worker: enough that the hosts of the input spread over every worker.
SLOTS_PER_WORKER = 4
#: A URL waits at most this long in the client for others of its slot to share its batch.
FLUSH_SECONDS = 0.05


@dataclasses.dataclass
class Batch:
    """URLs of one slot sent (or to be sent) as one task, numbered in the order they go."""

    slot: int
    pairs: list[tuple[int, str]]  # (seq, url)
    number: int = -1


class _Slot:
    """The URLs of the hosts of one slot that wait for a batch, and its batches in flight."""

    def __init__(self) -> None:
        self.filling: list[tuple[int, str]] = []
        self.filling_since = 0.0
        self.full: collections.deque[list[tuple[int, str]]] = collections.deque()
        self.in_flight = 0


class Slots:
    """The slots of one fetch: URLs waiting for their batch, and the batches in flight.

    Not locked: its owner calls it under its own lock.

    :param workers: the cluster's workers (at least :data:`SLOTS_PER_WORKER` slots each).
    :param batch_size: the most URLs in one batch.
    :param per_host: at most one batch of a slot in flight at once.
    """

    def __init__(self, workers: int, batch_size: int, *, per_host: bool) -> None:
        self._slots = [_Slot() for _ in range(max(SLOTS_PER_WORKER, SLOTS_PER_WORKER * workers))]
        self._batch_size = batch_size
        self._per_host = per_host
        self._next_slot = 0
        self._numbers = itertools.count()
        #: Batches handed out by :meth:`take_due` and not :meth:`back` yet.
        self.in_flight = 0

    def __len__(self) -> int:
        return len(self._slots)

    def add(self, seq: int, url: str, now: float) -> None:
        """Put the ``seq``-th URL in the batch of its slot that is filling (a full one waits to go)."""
        slot = self._slots[shard_of(url, len(self._slots))]
        if not slot.filling:
            slot.filling_since = now
        slot.filling.append((seq, url))
        if len(slot.filling) >= self._batch_size:
            slot.full.append(slot.filling)
            slot.filling = []

    def take_due(self, now: float, *, input_ended: bool, most: int) -> list[Batch]:
        """The batches that may go now, counted in flight, while fewer than ``most`` are; round robin over the slots."""
        due: list[Batch] = []
        count = len(self._slots)
        while self.in_flight < most:
            for step in range(count):
                number = (self._next_slot + step) % count
                slot = self._slots[number]
                if self._per_host and slot.in_flight:
                    continue  # one batch of a slot at a time: its hosts' requests on one worker
                if slot.full:
                    pairs = slot.full.popleft()
                elif slot.filling and (input_ended or now - slot.filling_since >= FLUSH_SECONDS):
                    pairs, slot.filling = slot.filling, []
                else:
                    continue
                self._next_slot = (number + 1) % count
                slot.in_flight += 1
                self.in_flight += 1
                due.append(Batch(number, pairs, next(self._numbers)))
                break
            else:
                break
        return due

    def back(self, batch: Batch) -> None:
        """``batch`` is no longer in flight."""
        self._slots[batch.slot].in_flight -= 1
        self.in_flight -= 1

    def drop_waiting(self) -> list[int]:
        """Empty every slot of the URLs waiting for a batch; their seqs."""
        dropped = []
        for slot in self._slots:
            dropped += [seq for seq, _ in itertools.chain(slot.filling, *slot.full)]
            slot.filling = []
            slot.full.clear()
        return dropped
