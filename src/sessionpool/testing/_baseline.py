"""The hand-rolled per-thread Session: what sessionpool replaces, and the baseline it is measured against."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import requests

from sessionpool import PoolConfig

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["DEFAULT_TIMEOUT", "HandRolledSessions"]

#: The request timeout a pool applies when a call passes none
#: (``PoolConfig().timeout``), given to every client the demo and the
#: benchmarks compare, so that all of them wait alike.
DEFAULT_TIMEOUT = PoolConfig().timeout


class HandRolledSessions:
    """A :class:`requests.Session` for each thread, made on its first use, as users write it without a pool.

    The demo and the benchmarks measure the pools against it. Unlike a pool,
    it reads the environment on every request, resets nothing, retries
    nothing: a connection the server closed under a request fails it.

    :param timeout: the timeout of a request that passes none.
    :param verify: each session's ``verify`` (a CA bundle's path, or a bool).
    """

    def __init__(
        self, *, timeout: float | tuple[float | None, float | None] | None = DEFAULT_TIMEOUT, verify: bool | str = True
    ) -> None:
        self._timeout = timeout
        self._verify = verify
        self._local = threading.local()
        self._lock = threading.Lock()
        self._made: list[requests.Session] = []

    def session(self) -> requests.Session:
        """The calling thread's session, made now if it has none."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.verify = self._verify
            with self._lock:
                self._made.append(session)
        return session

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET ``url`` through this thread's session, with the default timeout unless one is given."""
        kwargs.setdefault("timeout", self._timeout)
        return self.session().get(url, **kwargs)

    def close(self) -> None:
        """Close every session made so far, in whichever thread."""
        with self._lock:
            made, self._made = self._made, []
        for session in made:
            session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
