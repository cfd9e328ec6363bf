"""What every session of a pool shares: the :class:`PoolConfig` value object."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypedDict, Union

import requests
from requests.auth import AuthBase
from requests.exceptions import InvalidHeader
from requests.utils import check_header_validity

from sessionpool._validate import (
    check_bool,
    check_callable,
    check_existing_path,
    check_int,
    check_seconds,
    check_str_mapping,
    describe,
)
from sessionpool.retry import RetryPolicy

__all__ = [
    "DEFAULT_KEEPALIVE_EXPIRY",
    "DEFAULT_POOL_BLOCK",
    "DEFAULT_POOL_CONNECTIONS",
    "DEFAULT_POOL_MAXSIZE",
    "DEFAULT_TIMEOUT",
    "Auth",
    "Cert",
    "PoolConfig",
    "PoolConfigFields",
    "Timeout",
]

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

#: How many hosts each session keeps connection pools for (requests' default).
DEFAULT_POOL_CONNECTIONS = 10
#: How many connections each session keeps to one host (requests' default).
DEFAULT_POOL_MAXSIZE = 10
#: Whether a session waits for a free connection to a host rather than open
#: one more that it will not keep (requests' default).
DEFAULT_POOL_BLOCK = False
#: Close a pooled connection idle longer than this rather than reuse it.
#: Servers close idle keep-alive connections after their own timeout (Node
#: and uvicorn after 5 s, gunicorn's async workers after 2 s, nginx after
#: 75 s, cloud load balancers after about 60 s); reusing one just as the
#: server closes it fails the request. 4 s stays clear of the 5 s that most
#: application servers use, with a margin for network delay, so that race
#: rarely happens there, which matters most for requests that are not safe
#: to replay; shorter server timeouts are covered by the replay policy.
DEFAULT_KEEPALIVE_EXPIRY: float | None = 4.0
#: 10 s to connect, 30 s between bytes of the response. requests has no
#: default timeout, which leaves a worker thread hanging forever on a server
#: that stopped answering; these bounds are long enough for slow APIs.
DEFAULT_TIMEOUT: Timeout = (10.0, 30.0)


def _frozen_empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, kw_only=True)
class PoolConfig:
    """Everything the sessions of one pool share, checked when it is built.

    Every session a pool creates is made by ``session_factory`` and then given
    this baseline, so all of them behave alike whichever thread holds them.

    :param pool_connections: hosts each session keeps connection pools for.
    :param pool_maxsize: connections each session keeps open to one host.
    :param pool_block: when a session already has ``pool_maxsize`` connections
        to a host in use, wait for one to come back instead of opening a
        connection that will not be kept.
    :param keepalive_expiry: seconds a pooled connection may stay idle and
        still be reused; an older one is closed and a new one opened instead.
        ``None`` keeps idle connections for as long as the server does.
    :param timeout: the request timeout applied whenever a call passes none:
        seconds, or a ``(connect, read)`` pair. ``None`` means no limit, as in
        plain requests; the default is :data:`DEFAULT_TIMEOUT`.
    :param headers: headers sent with every request (merged over requests'
        own defaults; a header given in a call wins).
    :param auth: credentials for every request: ``(user, password)`` or an
        :class:`requests.auth.AuthBase`.
    :param verify: ``True`` to verify TLS certificates against the default CA
        bundle, ``False`` not to verify, or the path of a CA bundle.
    :param cert: a client certificate: one PEM file, or ``(cert, key)``.
    :param proxies: proxy URL by scheme or by ``scheme://host``, as in requests.
    :param trust_env: read proxies, CA bundles and ``.netrc`` from the
        environment, as requests does by default.
    :param session_factory: makes each new session; any callable returning a
        :class:`requests.Session`, subclasses included.
    :param retry: when a failed request is sent again.
    :param max_session_age: seconds after which a session is closed and
        replaced at its next checkout (each session's limit is cut by up to
        10 % at random, so sessions made together do not expire together);
        ``None`` for no limit.
    :param max_session_requests: HTTP requests after which a session is
        closed and replaced at its next checkout; ``None`` for no limit.
    :param share_cookies: give every session of the pool one cookie jar, safe
        to share between threads: log in once, and every thread's requests
        carry the login. Off by default: each session keeps its own cookies.
    :param clock: where session ages are read from (``time.monotonic``);
        tests inject their own.

    A config never changes; derive another with :func:`dataclasses.replace`.
    """

    pool_connections: int = DEFAULT_POOL_CONNECTIONS
    pool_maxsize: int = DEFAULT_POOL_MAXSIZE
    pool_block: bool = DEFAULT_POOL_BLOCK
    keepalive_expiry: float | None = DEFAULT_KEEPALIVE_EXPIRY
    timeout: Timeout = DEFAULT_TIMEOUT
    headers: Mapping[str, str] = field(default_factory=_frozen_empty)
    auth: Auth = None
    verify: bool | str = True
    cert: Cert = None
    proxies: Mapping[str, str] = field(default_factory=_frozen_empty)
    trust_env: bool = True
    session_factory: Callable[[], requests.Session] = requests.Session
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_session_age: float | None = None
    max_session_requests: int | None = None
    share_cookies: bool = False
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        check_int("PoolConfig.pool_connections", self.pool_connections, minimum=1)
        check_int("PoolConfig.pool_maxsize", self.pool_maxsize, minimum=1)
        check_bool("PoolConfig.pool_block", self.pool_block)
        if self.keepalive_expiry is not None:
            check_seconds("PoolConfig.keepalive_expiry", self.keepalive_expiry, allow_zero=False)
        _check_timeout(self.timeout)
        object.__setattr__(self, "headers", _check_headers(self.headers))
        _check_auth(self.auth)
        _check_verify(self.verify)
        _check_cert(self.cert)
        proxies = check_str_mapping("PoolConfig.proxies", self.proxies)
        object.__setattr__(self, "proxies", MappingProxyType(proxies))
        check_bool("PoolConfig.trust_env", self.trust_env)
        check_callable("PoolConfig.session_factory", self.session_factory)
        if not isinstance(self.retry, RetryPolicy):
            raise TypeError(f"PoolConfig.retry must be a RetryPolicy, got {describe(self.retry)}")
        if self.max_session_age is not None:
            check_seconds("PoolConfig.max_session_age", self.max_session_age, allow_zero=False)
        if self.max_session_requests is not None:
            check_int("PoolConfig.max_session_requests", self.max_session_requests, minimum=1)
        check_bool("PoolConfig.share_cookies", self.share_cookies)
        check_callable("PoolConfig.clock", self.clock)

    def __hash__(self) -> int:
        # The dataclass hash would fail on the read-only mappings; hash their items.
        return hash(
            tuple(
                frozenset(value.items()) if isinstance(value, Mapping) else value
                for value in (getattr(self, f.name) for f in dataclasses.fields(self))
            )
        )

    @classmethod
    def build(cls, config: PoolConfig | None, fields: Mapping[str, Any]) -> PoolConfig:
        """The config a pool constructor was given: ``config`` with ``fields`` applied.

        Lets every pool take either a ready config, keyword fields, or both
        (the fields then override the config's).
        """
        if config is not None and not isinstance(config, PoolConfig):
            raise TypeError(f"config must be a PoolConfig or None, got {describe(config)}")
        unknown = sorted(set(fields) - _FIELD_NAMES)
        if unknown:
            allowed = ", ".join(sorted(_FIELD_NAMES))
            raise TypeError(f"unknown PoolConfig field(s) {', '.join(unknown)}; the fields are: {allowed}")
        if config is None:
            return cls(**fields)
        return dataclasses.replace(config, **fields) if fields else config


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
    proxies: Mapping[str, str]
    trust_env: bool
    session_factory: Callable[[], requests.Session]
    retry: RetryPolicy
    max_session_age: float | None
    max_session_requests: int | None
    share_cookies: bool
    clock: Callable[[], float]


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(PoolConfig))


def _check_timeout(timeout: object) -> None:
    where = "PoolConfig.timeout"
    if timeout is None:
        return
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ValueError(f"{where} must be seconds, a (connect, read) pair, or None; got a tuple of {len(timeout)}")
        for part, value in zip(("connect", "read"), timeout, strict=True):
            if value is not None:
                check_seconds(f"{where} ({part} part)", value, allow_zero=False)
        return
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        check_seconds(where, timeout, allow_zero=False)
        return
    raise TypeError(f"{where} must be seconds, a (connect, read) pair, or None; got {describe(timeout)}")


def _check_headers(headers: object) -> Mapping[str, str]:
    copy = check_str_mapping("PoolConfig.headers", headers, values=(str, bytes))
    for item in copy.items():
        try:
            check_header_validity(item)
        except InvalidHeader as exc:
            raise ValueError(f"PoolConfig.headers[{item[0]!r}] is not a valid header: {exc}") from None
    return MappingProxyType(copy)


def _check_auth(auth: object) -> None:
    if auth is None or callable(auth):
        return
    if isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(part, str) for part in auth):
        return
    allowed = "a (user, password) pair of str, an AuthBase, or None"
    raise TypeError(f"PoolConfig.auth must be {allowed}; got {describe(auth)}")


def _check_verify(verify: object) -> None:
    if isinstance(verify, bool):
        return
    if isinstance(verify, str):
        check_existing_path("PoolConfig.verify", verify, directory_allowed=True)  # a CA file or c_rehash dir
        return
    raise TypeError(f"PoolConfig.verify must be True, False, or the path of a CA bundle; got {describe(verify)}")


def _check_cert(cert: object) -> None:
    where = "PoolConfig.cert"
    if cert is None:
        return
    if isinstance(cert, str):
        check_existing_path(where, cert, directory_allowed=False)
        return
    if isinstance(cert, tuple) and len(cert) == 2:
        check_existing_path(f"{where} (certificate)", cert[0], directory_allowed=False)
        check_existing_path(f"{where} (key)", cert[1], directory_allowed=False)
        return
    raise TypeError(f"{where} must be a PEM path, a (certificate, key) pair of paths, or None; got {describe(cert)}")
