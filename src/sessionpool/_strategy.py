"""What a pool strategy provides to the template: :class:`Strategy`.

SQLAlchemy's pools override only ``_do_get`` and ``_do_return_conn``; ours
do the same, and may add to a few steps of the template's own. Nothing else
of :class:`~sessionpool.Pool` is meant to be overridden, and a strategy
changes no flag of the template: what differs between pools is said here.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sessionpool._record import SessionRecord

__all__ = ["Strategy"]


class Strategy(abc.ABC):
    """The hooks the template :class:`~sessionpool.Pool` calls; a pool class fills them in.

    Two are required: :meth:`_do_get` and :meth:`_do_return`. The others
    are steps of the template a strategy may add to; each does nothing here.
    Hooks called "under the lock" run under the pool's lock and must not
    block, make or close a session.
    """

    __slots__ = ()

    @abc.abstractmethod
    def _do_get(self) -> SessionRecord:
        """A session for the calling thread: an existing one, or a new one from ``Pool._create``.

        Raises :class:`~sessionpool.PoolClosed` once the pool is closed, and
        :class:`~sessionpool.PoolTimeout` if the strategy waits in vain.
        """

    @abc.abstractmethod
    def _do_return(self, record: SessionRecord) -> bool:
        """Take back a session nobody holds any more; ``False`` if it must be retired instead."""

    def _on_created(self, record: SessionRecord) -> None:  # noqa: B027 - a step a strategy may leave as it is
        """A session was just made, before anyone uses it (outside the lock)."""

    def _on_released(self, record: SessionRecord) -> None:  # noqa: B027 - a step a strategy may leave as it is
        """The last lease on a session ended, before :meth:`_do_return` (under the lock)."""

    def _on_retired(self, records: list[SessionRecord]) -> None:  # noqa: B027 - a step a strategy may leave as it is
        """Sessions were retired: forget them (under the lock)."""

    def _on_close(self) -> None:  # noqa: B027 - a step a strategy may leave as it is
        """The pool is closing: drop the strategy's own state (under the lock)."""

    def _reset_strategy(self) -> None:  # noqa: B027 - a step a strategy may leave as it is
        """Set the strategy's own state to empty: when the pool is made, and in a forked child."""

    def _describe(self) -> str:
        """The strategy's settings for ``repr``, such as ``size=4``."""
        return ""
