"""How a pool makes a session: :func:`make_session`."""

from __future__ import annotations

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.cookies import RequestsCookieJar

from sessionpool._adapter import PoolAdapter
from sessionpool._compat import pool_manager_keywords, pool_sizes
from sessionpool._config import PoolConfig
from sessionpool._deadline import bind_deadline
from sessionpool._environment import EnvironmentCache
from sessionpool._errors import SessionFactoryError
from sessionpool._events import EventDispatcher
from sessionpool._fastpath import PreparedCache, bind_fast_path
from sessionpool._hosts import HostGate
from sessionpool._routes import RouteCache
from sessionpool._stats import StatsRecorder
from sessionpool._validate import describe

__all__ = ["make_session"]

#: The prefixes the pool's adapter is mounted on: every http and https URL.
MANAGED_PREFIXES = ("https://", "http://")

#: What ``HTTPAdapter()`` is sized with when given nothing: (pool_connections, pool_maxsize, pool_block).
_DEFAULT_POOL_SIZES = (
    requests.adapters.DEFAULT_POOLSIZE,
    requests.adapters.DEFAULT_POOLSIZE,
    requests.adapters.DEFAULT_POOLBLOCK,
)

#: The PoolConfig fields that stand in for what users configure on an adapter.
_TRANSPORT_FIELDS = (
    "ssl_context, socket_options, source_address, pool_connections, pool_maxsize, pool_block,"
    " timeout and retry (a RetryPolicy)"
)


def make_session(
    config: PoolConfig,
    stats: StatsRecorder,
    events: EventDispatcher,
    cookies: RequestsCookieJar | None = None,
    environment: EnvironmentCache | None = None,
    adapter: PoolAdapter | None = None,
    prepared: PreparedCache | None = None,
    routes: RouteCache | None = None,
    hosts: HostGate | None = None,
) -> tuple[requests.Session, PoolAdapter]:
    """A new session from ``config.session_factory``, given the config's baseline.

    The config is applied over whatever the factory set up: its headers and
    proxies are merged in (the config's win), ``auth`` replaces the factory's
    only when the config has one, and ``verify``, ``cert`` and ``trust_env``
    are set. ``cookies``, when given, replaces the session's own jar (the
    pool's shared one). ``environment``, when given, answers the session's
    questions to the environment (proxies, CA bundle, .netrc) from the pool's
    cache instead of reading it on every request. ``prepared``, when given,
    gives the session the fast request path (:mod:`sessionpool._fastpath`),
    keeping its prepared requests there. The pool's adapter (a new
    one, keeping its routes in ``routes`` and waiting on ``hosts`` for each
    host's turn when given, or ``adapter`` with its open connections) is mounted for ``http://`` and ``https://`` and
    returned with the session.

    Raises :class:`SessionFactoryError` if the factory mounted an adapter of
    its own where the pool's would replace or bypass it: whatever that
    adapter was configured with would be lost without a word.
    """
    session = config.session_factory()
    if not isinstance(session, requests.Session):
        raise TypeError(f"PoolConfig.session_factory must return a requests.Session, it returned {describe(session)}")
    _refuse_foreign_adapters(session)
    session.headers.update(config.headers)
    if config.auth is not None:
        session.auth = config.auth
    session.verify = config.verify
    session.cert = config.cert
    session.proxies.update(config.proxies)
    session.trust_env = config.trust_env
    if cookies is not None:
        session.cookies = cookies
    if environment is not None:
        environment.bind(session, context_decides_trust=config.ssl_context is not None)
    if prepared is not None:
        bind_fast_path(session, prepared)
    if config.deadline is not None:
        bind_deadline(session, config.deadline)
    if adapter is None:
        adapter = adapter_class(config)(config, stats, events, routes, hosts)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


def adapter_class(config: PoolConfig) -> type[PoolAdapter]:
    """The adapter of ``config``'s transport: the pool's own over urllib3, or over libcurl (imported only then)."""
    if config.transport == "curl":
        from sessionpool._curl.adapter import CurlAdapter  # curl_cffi is an extra: imported only when used

        return CurlAdapter
    return PoolAdapter


def _refuse_foreign_adapters(session: requests.Session) -> None:
    """Raise if an adapter the factory mounted would be replaced or bypassed by the pool's."""
    for prefix, adapter in session.adapters.items():
        lowered = prefix.lower()
        covers_managed = any(managed.startswith(lowered) for managed in MANAGED_PREFIXES)
        inside_managed = lowered.startswith(MANAGED_PREFIXES)
        if not (covers_managed or inside_managed):
            continue  # another scheme (file://, a test transport): not the pool's business
        if lowered in MANAGED_PREFIXES and _is_requests_default(adapter):
            continue  # what requests.Session() mounts itself: nothing to lose
        # requests picks the longest matching prefix: a shorter or equal one
        # loses to the pool's, a longer one wins over it.
        what = "be replaced by the pool's adapter" if covers_managed else "bypass the pool's adapter for those URLs"
        raise SessionFactoryError(
            f"the session factory mounted {type(adapter).__name__} on {prefix!r}, which would {what}:"
            f" a pool sends every http:// and https:// request through its own adapter (default timeout,"
            f" retries, statistics, lease checks). Configure the transport with the PoolConfig fields"
            f" {_TRANSPORT_FIELDS}; for a rate limiter or a cache, use its Session class (or a session"
            f" subclass) instead of its adapter."
        )


def _is_requests_default(adapter: BaseAdapter) -> bool:
    """Whether ``adapter`` is the ``HTTPAdapter()`` a plain session mounts, with nothing configured."""
    if type(adapter) is not HTTPAdapter:
        return False
    retries = adapter.max_retries
    return (
        retries.total == 0
        and retries.read is False
        and pool_sizes(adapter) == _DEFAULT_POOL_SIZES
        and pool_manager_keywords(adapter.poolmanager).keys() <= {"maxsize", "block"}
        and not adapter.proxy_manager
    )
