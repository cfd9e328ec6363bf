"""What a pool tells its listeners: :class:`PoolListener`.

In the spirit of SQLAlchemy's ``PoolEvents``: a listener is told when the
pool makes, lends, takes back and retires a session, when one of its
sessions opens a connection, and when a request is sent again. Users feed
their own metrics or logs from it; :mod:`sessionpool.otel` is one such
listener-side bridge.

Subclass :class:`PoolListener`, override the methods you need (the others do
nothing), and register an instance with ``pool.add_listener(listener)``.
Listeners are called in the thread where the event happened, outside the
pool's lock, so a listener may use the pool (``pool.stats()``) but should be
quick: it runs on the request path. An exception a listener raises is
logged (logger ``sessionpool``, with its traceback) and does not reach the
pool's caller: a metrics hook must never fail a request.
"""

from __future__ import annotations

import logging
import threading

import requests

__all__ = ["EventDispatcher", "PoolListener"]

log = logging.getLogger("sessionpool")


class PoolListener:
    """Receives a pool's events; every method does nothing unless overridden."""

    def session_created(self, session: requests.Session) -> None:
        """The pool made ``session`` (from its factory) and configured it."""

    def session_checked_out(self, session: requests.Session) -> None:
        """``session`` was lent, by ``pool.session()`` or a request method of the pool."""

    def session_returned(self, session: requests.Session) -> None:
        """``session`` came back to the pool (the lease ended)."""

    def session_retired(self, session: requests.Session) -> None:
        """The pool retired ``session``: it closed the pool's adapters on it and forgot it.

        Also told when a :class:`~sessionpool.QueuePool` replaces a returned
        session it could not reset: the pool's adapter (with its connections)
        moved to the new session, which :meth:`session_created` announces.

        The pool does not call ``session.close()``, since a factory may share
        resources (a cache backend, an adapter for another scheme) between
        its sessions; close here what your factory made for this session alone.
        """

    def connection_opened(self, scheme: str, host: str, port: int) -> None:
        """One of the pool's sessions opened a TCP connection (and, for https, a TLS session next)."""

    def request_retried(self, request: requests.PreparedRequest, reason: str, attempt: int) -> None:
        """``request`` is about to be sent again.

        :param reason: ``"stale"`` (the reused connection was closed by the
            server), ``"transient"`` (a connect failure or a transient
            status) or ``"read"`` (a read error on a retry-safe request).
        :param attempt: the number this next send will have (2 for the first retry).
        """


class EventDispatcher:
    """The listeners of one pool, and the calls that tell them (internal).

    Registering copies the tuple of listeners (rare); telling reads it
    without a lock (often), and costs one truth test when nobody listens.
    """

    __slots__ = ("_listeners", "_lock")

    def __init__(self) -> None:
        self._listeners: tuple[PoolListener, ...] = ()
        self._lock = threading.Lock()

    def add(self, listener: PoolListener) -> None:
        """Start telling ``listener``; adding one already there does nothing."""
        if not isinstance(listener, PoolListener):
            raise TypeError(f"a listener must be a sessionpool.PoolListener, got {type(listener).__name__}")
        with self._lock:
            if listener not in self._listeners:
                self._listeners = (*self._listeners, listener)

    def remove(self, listener: PoolListener) -> None:
        """Stop telling ``listener``; raises :class:`ValueError` if it was never added."""
        with self._lock:
            if listener not in self._listeners:
                raise ValueError(f"{listener!r} is not a listener of this pool")
            self._listeners = tuple(known for known in self._listeners if known is not listener)

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def session_created(self, session: requests.Session) -> None:
        """Tell every listener :meth:`PoolListener.session_created`."""
        for listener in self._listeners:
            _call(listener.session_created, session)

    def session_checked_out(self, session: requests.Session) -> None:
        """Tell every listener :meth:`PoolListener.session_checked_out`."""
        for listener in self._listeners:
            _call(listener.session_checked_out, session)

    def session_returned(self, session: requests.Session) -> None:
        """Tell every listener :meth:`PoolListener.session_returned`."""
        for listener in self._listeners:
            _call(listener.session_returned, session)

    def session_retired(self, session: requests.Session) -> None:
        """Tell every listener :meth:`PoolListener.session_retired`."""
        for listener in self._listeners:
            _call(listener.session_retired, session)

    def connection_opened(self, scheme: str, host: str, port: int) -> None:
        """Tell every listener :meth:`PoolListener.connection_opened`."""
        for listener in self._listeners:
            _call(listener.connection_opened, scheme, host, port)

    def request_retried(self, request: requests.PreparedRequest, reason: str, attempt: int) -> None:
        """Tell every listener :meth:`PoolListener.request_retried`."""
        for listener in self._listeners:
            _call(listener.request_retried, request, reason, attempt)


def _call(method: object, *args: object) -> None:
    try:
        method(*args)  # type: ignore[operator]
    except Exception:
        log.exception("a sessionpool listener failed in %s; the pool goes on", getattr(method, "__qualname__", method))
