"""One lending of a session, as a ``with`` block: :class:`Lease`.

A *lease* runs from checkout to checkin. :meth:`Pool.session` returns a
:class:`Lease`; :meth:`Pool.request` takes one for a single call; a
:class:`~sessionpool._record.SessionRecord` counts the leases open on its
session.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING

import requests

from sessionpool._errors import LeaseError

if TYPE_CHECKING:
    from sessionpool._base import Pool
    from sessionpool._record import SessionRecord

__all__ = ["Lease"]


class Lease(AbstractContextManager[requests.Session]):
    """The context manager :meth:`Pool.session` returns.

    The session is checked out on entering the block and returned on leaving it.
    """

    __slots__ = ("_pool", "_record")

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._record: SessionRecord | None = None

    def __enter__(self) -> requests.Session:
        if self._record is not None:
            message = "this lease is already in use: call pool.session() once per with-block"
            raise LeaseError(message, pool=repr(self._pool))
        self._record = self._pool._checkout()
        return self._record.session

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        record, self._record = self._record, None
        if record is not None:
            self._pool._checkin(record)
