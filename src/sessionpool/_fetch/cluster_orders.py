"""What the client of a fetch on a Dask cluster tells its batches, through events on the scheduler.

The batches of one fetch run on workers the client cannot reach; what it
asks of them (the :class:`~sessionpool._fetch.batch.Orders` sent with each
batch) goes through ``distributed.Event`` objects of the fetch, named after
it, that every batch's watcher thread reads. :class:`ClusterOrders` sets
them, once each, and clears them off the scheduler when no batch of the
fetch can run any more.

**Stopping.** A cancel sets the fetch's stop event: running batches stop
taking URLs and let their requests in flight finish, batches not started
yet send nothing. A second event tells them not to wait for the requests
in flight.

**Sent once only.** A batch whose method is not safe to send twice (not in
the pool's ``RetryPolicy.retry_methods``, and no ``Idempotency-Key``
header) is never run a second time when Dask reruns it after its worker
died: a rerun finds the batch's start marker (a ``distributed.Event`` set
when it first started) and sends nothing, every URL of it getting a
``WorkerDied`` result instead.
"""

from __future__ import annotations

import contextlib
import threading

import distributed

from sessionpool._classify import IDEMPOTENCY_HEADERS
from sessionpool._config import PoolConfig
from sessionpool._fetch.batch import Orders

__all__ = ["ClusterOrders", "once_only"]


def once_only(config: PoolConfig, method: str) -> bool:
    """Whether a batch of requests of ``method`` must never run twice: it is not safe to send again."""
    headers = {header.lower() for header in config.headers}
    return method not in config.retry.retry_methods and not any(
        header.lower() in headers for header in IDEMPOTENCY_HEADERS
    )


class ClusterOrders:
    """The orders of the fetch ``name`` on the scheduler of ``client``: set once each, forgotten at the end.

    :param once_only: whether each batch leaves a start marker, so that it never runs a second time.
    """

    def __init__(self, client: distributed.Client, name: str, *, once_only: bool) -> None:
        self._client = client
        #: The names of the events, sent with every batch.
        self.orders = Orders(f"{name}-stop", f"{name}-abandon", once_only, f"{name}-started")
        self._lock = threading.Lock()  # guards everything below
        self._told_stop = self._told_abandon = False
        self._markers: list[int] = []  # batches whose start marker may be set on the scheduler

    def submitted(self, number: int) -> None:
        """The batch ``number`` was submitted: with once-only orders, its start marker may be set."""
        if self.orders.once_only:
            with self._lock:
                self._markers.append(number)

    def tell(self, *, stop: bool, abandon: bool) -> None:
        """Tell the batches to stop, or not to wait for their requests in flight (each said once)."""
        with self._lock:
            names = []
            if stop and not self._told_stop:
                self._told_stop = True
                names.append(self.orders.stop)
            if abandon and not self._told_abandon:
                self._told_abandon = True
                names.append(self.orders.abandon)
        for name in names:
            with contextlib.suppress(Exception):  # the cluster is gone: no batch is left to tell
                distributed.Event(name, client=self._client).set()

    def forget(self) -> None:
        """Clear the fetch's events off the scheduler: no batch of it can run any more."""
        with self._lock:
            told = ((self._told_stop, self.orders.stop), (self._told_abandon, self.orders.abandon))
            names = [name for was_told, name in told if was_told]
            names += [f"{self.orders.started}-{number}" for number in self._markers]
        with contextlib.suppress(Exception):
            for name in names:
                distributed.Event(name, client=self._client).clear()
