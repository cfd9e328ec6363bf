"""Nothing crosses a fork: every live pool starts empty in a forked child.

A child process must never use a connection it inherited (the parent may be
using it) nor a lock another thread of the parent held at the fork. Each
pool registers here when it is made; ``os.register_at_fork`` then empties
every live pool in the child.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["empty_in_forked_child"]


class _ForkAware(Protocol):
    def _after_fork_in_child(self) -> None: ...


#: Every pool alive in this process, to be emptied in a forked child.
_LIVE_POOLS: weakref.WeakSet[_ForkAware] = weakref.WeakSet()


def empty_in_forked_child(pool: _ForkAware) -> None:
    """Have ``pool._after_fork_in_child()`` called in every child this process forks, for as long as it lives."""
    _LIVE_POOLS.add(pool)


def _empty_pools_in_child() -> None:
    for pool in list(_LIVE_POOLS):
        pool._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_empty_pools_in_child)
