"""The template every pool is built on: :class:`BasePool`.

The base class owns the configuration, the lock, the statistics, the
lifecycle and the request methods. A pool strategy overrides only how a
session is got (:meth:`BasePool._do_get`) and put back
(:meth:`BasePool._do_return`), and may add to what closing does.

Lock discipline: the pool's state and counters change under one lock (the
statistics' own); sessions are made and closed outside it.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import requests

from sessionpool.config import PoolConfig
from sessionpool.errors import PoolClosed, PoolError
from sessionpool.factory import make_session
from sessionpool.record import SessionRecord
from sessionpool.stats import PoolStats, StatsRecorder

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["BasePool", "Lease"]


class BasePool(abc.ABC):
    """Lends :class:`requests.Session` objects made from one :class:`PoolConfig`.

    Not instantiated directly: use :class:`~sessionpool.ThreadLocalPool` or
    :class:`~sessionpool.QueuePool`.
    """

    def __init__(self, config: PoolConfig | None, fields: Mapping[str, Any]) -> None:
        self._config = PoolConfig.build(config, fields)
        self._stats = StatsRecorder()
        self._lock = self._stats.lock
        self._closed = False
        # Every session this pool made and has not closed, whichever thread
        # holds it: close() and stats() must see them all.
        self._records: set[SessionRecord] = set()

    # -- what a strategy provides ------------------------------------------

    @abc.abstractmethod
    def _do_get(self) -> SessionRecord:
        """A session for the calling thread: an existing one, or one from :meth:`_create`.

        Raises :class:`PoolClosed` once the pool is closed, and
        :class:`PoolTimeout` if the strategy waits in vain.
        """

    @abc.abstractmethod
    def _do_return(self, record: SessionRecord) -> bool:
        """Take back a session nobody holds any more; ``False`` if it must be closed instead."""

    def _on_close(self) -> None:  # noqa: B027 - a hook strategies may leave as it is
        """Called under the lock as the pool closes, to drop the strategy's own state."""

    def _describe(self) -> str:
        """Strategy settings for ``repr``, such as ``size=4``."""
        return ""

    # -- the public interface ----------------------------------------------

    @property
    def config(self) -> PoolConfig:
        """The configuration every session of this pool is made from."""
        return self._config

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    def session(self) -> AbstractContextManager[requests.Session]:
        """Lend a session for a ``with`` block; it comes back when the block ends.

        The session is the caller's alone until then: use it like any
        :class:`requests.Session`. It comes back also when the block raises.

        Raises :class:`PoolClosed` after :meth:`close`, and (in a
        :class:`QueuePool`) :class:`PoolTimeout` when no session came free in time.
        """
        return Lease(self)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request on a session lent for just this call.

        Takes the arguments of :meth:`requests.Session.request`. Without a
        ``timeout``, the config's default timeout applies.
        """
        record = self._checkout()
        try:
            return record.session.request(method, url, **kwargs)
        finally:
            self._checkin(record)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """Send a GET request, as :meth:`requests.Session.get`."""
        kwargs.setdefault("allow_redirects", True)
        return self.request("GET", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> requests.Response:
        """Send an OPTIONS request, as :meth:`requests.Session.options`."""
        kwargs.setdefault("allow_redirects", True)
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> requests.Response:
        """Send a HEAD request, as :meth:`requests.Session.head` (redirects not followed)."""
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:
        """Send a POST request, as :meth:`requests.Session.post`."""
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any) -> requests.Response:
        """Send a PUT request, as :meth:`requests.Session.put`."""
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str, data: Any = None, **kwargs: Any) -> requests.Response:
        """Send a PATCH request, as :meth:`requests.Session.patch`."""
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        """Send a DELETE request, as :meth:`requests.Session.delete`."""
        return self.request("DELETE", url, **kwargs)

    def stats(self) -> PoolStats:
        """A snapshot of this pool's counters."""
        return self._stats.snapshot()

    def close(self) -> None:
        """Close every session and its connections; the pool cannot be used again.

        Sessions lent out at this moment are closed as they come back.
        Calling it again does nothing; any other use of the pool afterwards
        raises :class:`PoolClosed`.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._on_close()
            idle = [record for record in self._records if record.leases == 0]
        self._retire(idle)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        stats = self.stats()
        settings = self._describe()
        return (
            f"<{type(self).__name__}{' ' + settings if settings else ''}"
            f" sessions_open={stats.sessions_open} in_use={stats.sessions_in_use}"
            f" requests={stats.requests} connections_opened={stats.connections_opened}"
            f" reuse_ratio={stats.reuse_ratio:.2f}{' closed' if self._closed else ''}>"
        )

    # -- the template's own steps ------------------------------------------

    def _checkout(self) -> SessionRecord:
        if self._closed:
            raise self._closed_error()
        record = self._do_get()
        with self._lock:
            # Checked again under the lock: close() closes every session
            # with no lease, so a lease must not be taken once it ran.
            closed = self._closed
            if not closed:
                record.leases += 1
                record.checkouts += 1
                if record.leases == 1:
                    self._stats.sessions_in_use += 1
                self._stats.checkouts += 1
        if closed:
            # Raised outside the lock: the error's message reads the stats.
            raise self._closed_error()
        return record

    def _checkin(self, record: SessionRecord) -> None:
        with self._lock:
            record.leases -= 1
            if record.leases:
                return
            self._stats.sessions_in_use -= 1
        if not self._do_return(record):
            self._retire([record])

    def _create(self) -> SessionRecord:
        """Make a session from the config and start tracking it."""
        record = SessionRecord(make_session(self._config, self._stats))
        with self._lock:
            if not self._closed:
                self._records.add(record)
                self._stats.sessions_created += 1
                return record
        record.session.close()
        raise self._closed_error()

    def _retire(self, records: Iterable[SessionRecord]) -> None:
        """Close sessions (each once, whoever asks) and stop tracking them."""
        with self._lock:
            to_close = [record for record in records if not record.closed]
            for record in to_close:
                record.closed = True
                self._records.discard(record)
            self._stats.sessions_closed += len(to_close)
        for record in to_close:
            record.session.close()

    def _closed_error(self) -> PoolClosed:
        return PoolClosed(f"{type(self).__name__} is closed; make a new pool to send more requests", pool=repr(self))


class Lease(AbstractContextManager[requests.Session]):
    """The context manager :meth:`BasePool.session` returns.

    The session is checked out on entering the block and returned on leaving it.
    """

    __slots__ = ("_pool", "_record")

    def __init__(self, pool: BasePool) -> None:
        self._pool = pool
        self._record: SessionRecord | None = None

    def __enter__(self) -> requests.Session:
        if self._record is not None:
            message = "this lease is already in use: call pool.session() once per with-block"
            raise PoolError(message, pool=repr(self._pool))
        self._record = self._pool._checkout()
        return self._record.session

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        record, self._record = self._record, None
        if record is not None:
            self._pool._checkin(record)
