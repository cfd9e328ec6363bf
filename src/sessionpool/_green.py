"""Whether this process runs green threads: gevent's or eventlet's monkey patching of ``threading``.

Under either, ``threading.local`` is local to each greenlet, not to each OS
thread, which a :class:`~sessionpool.ThreadLocalPool` cannot live with (see
:class:`~sessionpool.GreenThreadsUnsupported`).

The check imports nothing: a program that patched threads has imported the
patching module already (``gevent.monkey``, ``eventlet.patcher``), so a
module missing from :data:`sys.modules` means no patching by it. It is cheap
enough to run at every pool's construction: two dictionary look-ups, and a
call into the patcher only where gevent or eventlet is loaded.
"""

from __future__ import annotations

import sys

from sessionpool._errors import GreenThreadsUnsupported

__all__ = ["green_threads", "refuse_green_threads"]


def green_threads() -> str | None:
    """The library that patched ``threading`` into green threads (``"gevent"`` or ``"eventlet"``), or None.

    Patching that leaves threads alone (``gevent.monkey.patch_all(thread=False)``,
    ``eventlet.monkey_patch(thread=False)``) is not green threads: real
    threads still run, each with its own ``threading.local``.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and bool(getattr(monkey, "is_module_patched", _never)("threading")):
        return "gevent"
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and bool(getattr(patcher, "is_monkey_patched", _never)("thread")):
        return "eventlet"
    return None


def _never(_module: str) -> bool:
    """Stands in for a patcher's query that this version of it lacks: nothing is patched."""
    return False


def refuse_green_threads() -> None:
    """Raise :class:`~sessionpool.GreenThreadsUnsupported` if threads are green here (see :func:`green_threads`).

    For a :class:`~sessionpool.ThreadLocalPool`, and for the fetch engine
    before it starts worker processes that would each make one.
    """
    library = green_threads()
    if library is not None:
        raise GreenThreadsUnsupported(_green_message(library))


def _green_message(library: str) -> str:
    """Why a thread-local pool is refused under ``library``'s green threads, and what to use instead."""
    return (
        f"ThreadLocalPool cannot be used under {library}'s monkey patching: threading.local is local to each"
        " greenlet there, so the pool would make one session, with its own connections, per greenlet"
        " (500 greenlets: 500 sessions and 500 connections to one server). Use QueuePool(size=N) instead, N the"
        f" number of requests you want in flight at once: its checkouts wait on {library}'s patched locks,"
        " and its size bounds the sessions and connections"
    )
