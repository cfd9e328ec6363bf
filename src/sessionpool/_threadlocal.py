"""One session per thread: :class:`ThreadLocalPool`."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from sessionpool._base import Pool
from sessionpool._config import PoolConfig
from sessionpool._config_types import PoolConfigFields
from sessionpool._green import refuse_green_threads
from sessionpool._record import SessionRecord

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ThreadLocalPool"]


class _Slot:
    """A thread's hold on its session, kept only in the thread's local storage.

    When the thread ends, its local storage is dropped, and with it the slot;
    a finalizer on the slot then retires the session, so a pool that serves
    short-lived threads does not keep their sessions and sockets.
    """

    __slots__ = ("__weakref__", "record")

    def __init__(self, record: SessionRecord) -> None:
        self.record = record


class ThreadLocalPool(Pool):
    """Gives each thread its own :class:`requests.Session`, made on its first use.

    The right pool for long-lived worker threads: a thread never waits for a
    session, and each thread's connections stay warm for its next request. A
    thread keeps its session's state (cookies it received, headers it set)
    from one call to the next, like a plain session would. Another thread
    may send on it for its owner (a cache's background refresh), but never
    while a send on it is under way: that raises :class:`~sessionpool.LeaseError`.

    The pool tracks every session it made, in every thread, so
    :meth:`stats` counts them all and :meth:`close` closes them all. When a
    thread ends, its session is closed with it.

    Not for green threads: where gevent or eventlet patched ``threading``
    (gunicorn's gevent and eventlet workers, Celery's gevent pool), a
    thread-local is local to each greenlet, and the pool would make one
    session, with its own connections, per greenlet. There it raises
    :class:`~sessionpool.GreenThreadsUnsupported` at construction; use a
    :class:`~sessionpool.QueuePool` sized to the requests wanted in flight.

    :param config: the configuration of every session; ``None`` for the defaults.
    :param fields: :class:`PoolConfig` fields, applied over ``config``.
    :raises GreenThreadsUnsupported: under gevent's or eventlet's patching of threads.

    >>> with ThreadLocalPool(timeout=5.0) as pool:      # doctest: +SKIP
    ...     response = pool.get("https://example.org/")
    """

    def __init__(self, config: PoolConfig | None = None, **fields: Unpack[PoolConfigFields]) -> None:
        # Before anything is built: a refused pool leaves no finalizer or fork hook behind.
        refuse_green_threads()
        super().__init__(config, fields)

    def _reset_strategy(self) -> None:
        self._local = threading.local()

    def _do_get(self) -> SessionRecord:
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is not None and not slot.record.closed:
            return slot.record
        record = self._create()
        slot = self._local.slot = _Slot(record)
        weakref.finalize(slot, _thread_ended, weakref.ref(self), record)
        return record

    def _do_return(self, record: SessionRecord) -> bool:
        # The session stays in its thread's slot for the thread's next call.
        return not self._closed


def _thread_ended(pool_ref: weakref.ref[ThreadLocalPool], record: SessionRecord) -> None:
    """Retire the session of a thread that ended (or whose slot was replaced)."""
    pool = pool_ref()
    if pool is not None:
        pool._retire([record])  # does nothing if the pool already retired it
