"""One session per thread: :class:`ThreadLocalPool`."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sessionpool.base import BasePool
from sessionpool.config import PoolConfig, PoolConfigFields
from sessionpool.record import SessionRecord

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ThreadLocalPool"]


class ThreadLocalPool(BasePool):
    """Gives each thread its own :class:`requests.Session`, made on its first use.

    The right pool for long-lived worker threads: a thread never waits for a
    session, and each thread's connections stay warm for its next request. A
    thread keeps its session's state (cookies it received, headers it set)
    from one call to the next, like a plain session would.

    The pool tracks every session it made, in every thread, so
    :meth:`stats` counts them all and :meth:`close` closes them all.

    :param config: the configuration of every session; ``None`` for the defaults.
    :param fields: :class:`PoolConfig` fields, applied over ``config``.

    >>> with ThreadLocalPool(timeout=5.0) as pool:      # doctest: +SKIP
    ...     response = pool.get("https://example.org/")
    """

    def __init__(self, config: PoolConfig | None = None, **fields: Unpack[PoolConfigFields]) -> None:
        super().__init__(config, fields)
        self._local = threading.local()

    def _do_get(self) -> SessionRecord:
        record: SessionRecord | None = getattr(self._local, "record", None)
        if record is None or record.closed:
            record = self._create()
            self._local.record = record
        return record

    def _do_return(self, record: SessionRecord) -> bool:
        # The session stays in its thread's slot for the thread's next call.
        return not self._closed
