"""The types of :class:`~sessionpool.PoolConfig`'s fields, and the typed keywords the pools take."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from typing import TypedDict, Union

import requests
from requests.auth import AuthBase

from sessionpool._autothrottle import AutoThrottle
from sessionpool._config_checks import SocketOption
from sessionpool._policy import RetryPolicy

__all__ = ["Auth", "Cert", "PoolConfigFields", "SocketOption", "Timeout"]

#: A request timeout as requests takes it: seconds for connect and read
#: together, a ``(connect, read)`` pair in which either part may be ``None``
#: (no limit), or ``None`` for no limit at all.
Timeout = Union[float, tuple[Union[float, None], Union[float, None]], None]
#: Credentials as requests takes them: a ``(user, password)`` pair for basic
#: auth, or an :class:`requests.auth.AuthBase` (any callable that signs a request).
Auth = Union[tuple[str, str], AuthBase, Callable[[requests.PreparedRequest], requests.PreparedRequest], None]
#: A client certificate as requests takes it: one PEM file holding both, or a
#: ``(certificate, key)`` pair of paths.
Cert = Union[str, tuple[str, str], None]


class PoolConfigFields(TypedDict, total=False):
    """The fields of :class:`PoolConfig`, for typing the pools' ``**fields``."""

    pool_connections: int
    pool_maxsize: int
    pool_block: bool
    keepalive_expiry: float | None
    timeout: Timeout
    headers: Mapping[str, str]
    auth: Auth
    verify: bool | str
    cert: Cert
    ssl_context: ssl.SSLContext | None
    socket_options: tuple[SocketOption, ...] | None
    source_address: tuple[str, int] | None
    proxies: Mapping[str, str]
    trust_env: bool
    session_factory: Callable[[], requests.Session]
    retry: RetryPolicy
    max_session_age: float | None
    max_session_requests: int | None
    share_cookies: bool
    clock: Callable[[], float]
    per_host_limit: int | None
    per_host_rate: float | None
    per_host_burst: int | None
    per_host_delay: float
    autothrottle: AutoThrottle | None
    per_host_pause_max: float
    per_host_wait_max: float | None
    deadline: float | None
    proxy_rotation: tuple[str, ...]
    proxy_failure_limit: int
    proxy_cooldown: float
    transport: str
    impersonate: str | None
    http2: bool
