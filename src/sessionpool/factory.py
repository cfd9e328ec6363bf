"""How a pool makes a session: :func:`make_session`."""

from __future__ import annotations

import requests
from requests.cookies import RequestsCookieJar

from sessionpool._validate import describe
from sessionpool.adapter import PoolAdapter
from sessionpool.config import PoolConfig
from sessionpool.environment import EnvironmentCache
from sessionpool.stats import StatsRecorder

__all__ = ["make_session"]


def make_session(
    config: PoolConfig,
    stats: StatsRecorder,
    cookies: RequestsCookieJar | None = None,
    environment: EnvironmentCache | None = None,
) -> tuple[requests.Session, PoolAdapter]:
    """A new session from ``config.session_factory``, given the config's baseline.

    The config is applied over whatever the factory set up: its headers and
    proxies are merged in (the config's win), ``auth`` replaces the factory's
    only when the config has one, and ``verify``, ``cert`` and ``trust_env``
    are set. ``cookies``, when given, replaces the session's own jar (the
    pool's shared one). ``environment``, when given, answers the session's
    questions to the environment (proxies, CA bundle, .netrc) from the pool's
    cache instead of reading it on every request. A fresh :class:`PoolAdapter` is mounted for
    ``http://`` and ``https://`` and returned with the session; adapters the
    factory mounted for longer prefixes stay.
    """
    session = config.session_factory()
    if not isinstance(session, requests.Session):
        raise TypeError(f"PoolConfig.session_factory must return a requests.Session, it returned {describe(session)}")
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
        environment.bind(session)
    adapter = PoolAdapter(config, stats)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter
