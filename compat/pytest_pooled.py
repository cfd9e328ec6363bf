"""A pytest plugin that makes every ``requests.Session`` of requests' suite a session lent by a sessionpool pool.

``requests.Session`` and ``requests.sessions.Session`` (which ``requests.get``
and ``requests.request`` build their throw-away session from, and which
``requests.session()`` returns) are replaced, in this test process only, by
:class:`PooledSession`: a subclass of requests' own ``Session``, so that
``isinstance`` holds and the suite's own subclasses of ``requests.Session``
(defined after this plugin loaded) are pooled too.

Each ``PooledSession()`` makes a ``QueuePool(size=1)`` whose session factory
returns the new object itself, and takes a lease on it at once. The pool's
real path runs on every request: the factory's baseline and adapter check,
the environment cache, the pool's adapter (default timeout, lease check,
retries, statistics) and its urllib3 pool managers. The lease ends, and the
pool closes, when the session is closed (``close()``, or the end of a
``with`` block, as in ``requests.get``). A session the suite never closes
is never garbage: it holds its pool, and the pool's finalizer (which closes
the sessions of a pool dropped without ``close()``) holds the session, so it
stays leased until the test process ends and that finalizer closes its
adapter. A plain session would be collected sooner; no test depends on it.

The pools run with :data:`CONFIG`, sessionpool's defaults: see the
comment there for why they are kept where they differ from requests'.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import weakref

import pytest
import requests
import requests.sessions
from differences import TRANSPORT_ENV
from pytest_loopback import POOLED_KEY

import sessionpool
from sessionpool import PoolConfig, QueuePool

#: requests' own Session, which PooledSession extends.
PlainSession = requests.sessions.Session

#: The configuration of every pool: sessionpool's defaults, the ones a user
#: gets, kept where they differ from requests' by design, so the suite tests
#: them. The default timeout (10 s to connect, 30 s to read, where requests
#: has none) is longer than any wait of the suite, whose own timeouts win;
#: keep-alive expiry (4 s) and stale-connection retries act only on reused
#: connections, and stop no test; the environment (proxies, CA bundle,
#: .netrc) is read through the pool's cache, which one test sees (listed in
#: differences.py). Setting requests' values instead (timeout=None,
#: keepalive_expiry=None, RetryPolicy.disabled()) changes no outcome.
CONFIG = PoolConfig(transport=os.environ.get(TRANSPORT_ENV, "urllib3"))

_lock = threading.Lock()
_counts = {"sessions": 0, "closed": 0}
#: Stats of the pools of closed sessions, added up.
_closed_totals: dict[str, int] = {}
#: Pools whose session is still open: added up at the end of the run.
_open_pools: weakref.WeakSet[QueuePool] = weakref.WeakSet()


class PooledSession(PlainSession):
    """A ``requests.Session`` lent by a pool of its own for its whole life."""

    def __init__(self) -> None:
        super().__init__()
        made: list[PooledSession] = []

        def factory() -> PooledSession:
            # The pool makes its session once; a second call would be a
            # replacement, which a lease held for the session's life never asks for.
            if made:
                raise AssertionError("the compat pool asked for a second session")
            made.append(self)
            return self

        pool = QueuePool(CONFIG, size=1, session_factory=factory)
        lease = pool.session()
        lent = lease.__enter__()
        if lent is not self:
            raise AssertionError(f"the compat pool lent {lent!r}, not the session it was given")
        self._compat_pool = pool
        self._compat_lease = lease
        #: The pool's adapter, closed by the pool (once) when it retires the session.
        self._compat_adapter = self.adapters["https://"]
        with _lock:
            _counts["sessions"] += 1
            _open_pools.add(pool)

    def close(self) -> None:
        """End the lease and close the pool, which closes its adapter; close the other adapters as requests does."""
        # An unpickled PooledSession has no pool: Session.__setstate__ restores
        # only requests' own attributes, and it closes as a plain session.
        lease = self.__dict__.pop("_compat_lease", None)
        pool = self.__dict__.pop("_compat_pool", None)
        adapter = self.__dict__.pop("_compat_adapter", None)
        if lease is None or pool is None:
            super().close()
            return
        lease.__exit__(None, None, None)
        pool.close()
        # What Session.close() does, for the adapters that are not the pool's
        # (one the suite mounted): the pool's, mounted on two prefixes, was
        # closed once by the pool.
        for mounted in self.adapters.values():
            if mounted is not adapter:
                mounted.close()
        self._record_closed(pool)

    @staticmethod
    def _record_closed(pool: QueuePool) -> None:
        stats = dataclasses.asdict(pool.stats())
        with _lock:
            _counts["closed"] += 1
            _open_pools.discard(pool)
            for name, value in stats.items():
                if isinstance(value, int):
                    _closed_totals[name] = _closed_totals.get(name, 0) + value


def _substitute() -> None:
    requests.Session = PooledSession  # type: ignore[misc]
    requests.sessions.Session = PooledSession  # type: ignore[misc]


# On import: before the suite's modules import requests' names.
_substitute()


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say, at the top of the run, that sessions are pooled."""
    return [f"sessionpool {sessionpool.__version__}: every requests.Session is lent by a QueuePool(size=1), {CONFIG!r}"]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Hand what the pools did to the report (written by pytest_loopback)."""
    totals = dict(_closed_totals)
    with _lock:
        open_pools = list(_open_pools)
        counts = dict(_counts)
    for pool in open_pools:
        for name, value in dataclasses.asdict(pool.stats()).items():
            if isinstance(value, int):
                totals[name] = totals.get(name, 0) + value
    session.config.stash[POOLED_KEY] = {
        "transport": CONFIG.transport,
        "sessions": counts["sessions"],
        "sessions_closed_by_suite": counts["closed"],
        "stats": totals,
        "requests_session_is_pooled": requests.Session is PooledSession and requests.sessions.Session is PooledSession,
    }
