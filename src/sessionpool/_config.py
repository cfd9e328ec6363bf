"""What every session of a pool shares: the :class:`PoolConfig` value object."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from sessionpool._autothrottle import AutoThrottle
from sessionpool._config_checks import (
    check_auth,
    check_cert,
    check_headers,
    check_proxy_rotation,
    check_socket_options,
    check_source_address,
    check_ssl_context,
    check_timeout,
    check_transport,
    check_verify,
)
from sessionpool._config_types import Auth, Cert, SocketOption, Timeout
from sessionpool._defaults import (
    DEFAULT_KEEPALIVE_EXPIRY,
    DEFAULT_PER_HOST_PAUSE_MAX,
    DEFAULT_PER_HOST_WAIT_MAX,
    DEFAULT_POOL_BLOCK,
    DEFAULT_POOL_CONNECTIONS,
    DEFAULT_POOL_MAXSIZE,
    DEFAULT_PROXY_COOLDOWN,
    DEFAULT_PROXY_FAILURE_LIMIT,
    DEFAULT_TIMEOUT,
)
from sessionpool._frozendict import FrozenDict
from sessionpool._policy import RetryPolicy
from sessionpool._redact import redact_auth, redact_headers, redact_url
from sessionpool._validate import (
    check_bool,
    check_callable,
    check_int,
    check_number,
    check_seconds,
    check_str_mapping,
    describe,
)

__all__ = ["PoolConfig"]


def _frozen_empty() -> Mapping[str, str]:
    return FrozenDict()


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
    :param ssl_context: the :class:`ssl.SSLContext` every TLS connection is
        made with (a private CA loaded into it, ``truststore.SSLContext`` for
        the system's trust store, a TLS version floor in ``minimum_version``,
        a client certificate through ``load_cert_chain``). When given, it
        decides trust: ``verify`` stays ``True``, ``cert`` ``None``, and no
        CA bundle from the environment is added to it. A call that passes
        its own ``verify`` or ``cert`` gets requests' own TLS setup for that
        call instead. ``None``: requests' own (the certifi bundle).
    :param socket_options: ``(level, option, value)`` triples set on every
        new socket, replacing urllib3's default (which sets ``TCP_NODELAY``;
        add ``*urllib3.connection.HTTPConnection.default_socket_options`` to
        keep it). ``None``: urllib3's default.
    :param source_address: ``(host, port)`` every connection is made from
        (port 0: any); ``None``: the system chooses.
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
    :param per_host_limit: at most this many requests in flight to one host
        (``scheme://host:port``) at once, across every session and thread of
        the pool; ``None`` for no limit.
    :param per_host_rate: at most this many requests a second to one host,
        across the pool; ``None`` for no limit.
    :param per_host_burst: how many requests to one host may start at once
        before ``per_host_rate`` spaces them out (default 1); only with
        ``per_host_rate``.
    :param per_host_delay: seconds between the starts of two requests to one
        host (Scrapy's download delay); 0 for none. The floor AutoThrottle
        never goes below.
    :param autothrottle: an :class:`~sessionpool.AutoThrottle` to adjust each
        host's delay from its latencies; ``None`` (default) keeps it fixed.
    :param per_host_pause_max: the longest a ``429`` or ``503`` with
        ``Retry-After`` pauses every thread's requests to that host (default
        60 s); 0 turns these pool-wide pauses off.
    :param per_host_wait_max: the longest a request waits for its host's turn
        before :class:`~sessionpool.HostWaitTimeout` (default 300 s); ``None``
        waits as long as it takes.
    :param deadline: the longest one request may take in all, in seconds:
        its wait for its host's turn, connecting, sending, the response head
        and the whole body, every redirect hop and replay included. When it
        passes, the connection is shut down and
        :class:`~sessionpool.DeadlineExceeded` raised, so a server that
        trickles a byte at a time cannot hold a thread. ``None`` (default):
        no deadline, as in requests, where ``timeout`` bounds each wait for
        a byte, not the request.
    :param proxy_rotation: proxy URLs (``http://``, ``https://``,
        ``socks4://``, ``socks4a://``, ``socks5://``, ``socks5h://``, with
        credentials if needed) for every ``http://`` and ``https://``
        request. Each new session is bound to the next one, round-robin, so
        its connections stay pooled per proxy; a proxy whose connections
        failed ``proxy_failure_limit`` times in a row is benched for
        ``proxy_cooldown`` seconds, and requests go to the next one (a
        connect failure is replayed through it, whatever the method: nothing
        reached the server). Cannot be combined with ``proxies`` for
        ``http`` or ``https``, and wins over proxies from the environment.
        Empty (default): no rotation.
    :param proxy_failure_limit: connect failures in a row that bench a
        proxy of ``proxy_rotation`` (default 3).
    :param proxy_cooldown: seconds a benched proxy gets no requests (default 60).
    :param transport: what sends the requests: ``"urllib3"`` (default:
        requests' own adapter) or ``"curl"`` (libcurl, through curl_cffi: the
        ``curl`` extra). Both give requests' own ``Response``; the curl
        transport refuses ``ssl_context`` and ``socket_options``, which
        libcurl cannot take.
    :param impersonate: with ``transport="curl"``: the browser whose TLS and
        HTTP/2 fingerprint libcurl sends (curl_cffi's names: ``"chrome"``,
        ``"firefox"``, ``"safari"``, ...). Only the handshake is a browser's:
        the headers stay the request's. ``None`` (default): libcurl's own.
    :param http2: with ``transport="curl"``: offer HTTP/2 to https servers
        (by ALPN; HTTP/1.1 when a server declines). Off by default.

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
    ssl_context: ssl.SSLContext | None = None
    socket_options: tuple[SocketOption, ...] | None = None
    source_address: tuple[str, int] | None = None
    proxies: Mapping[str, str] = field(default_factory=_frozen_empty)
    trust_env: bool = True
    session_factory: Callable[[], requests.Session] = requests.Session
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_session_age: float | None = None
    max_session_requests: int | None = None
    share_cookies: bool = False
    clock: Callable[[], float] = time.monotonic
    per_host_limit: int | None = None
    per_host_rate: float | None = None
    per_host_burst: int | None = None
    per_host_delay: float = 0.0
    autothrottle: AutoThrottle | None = None
    per_host_pause_max: float = DEFAULT_PER_HOST_PAUSE_MAX
    per_host_wait_max: float | None = DEFAULT_PER_HOST_WAIT_MAX
    deadline: float | None = None
    proxy_rotation: tuple[str, ...] = ()
    proxy_failure_limit: int = DEFAULT_PROXY_FAILURE_LIMIT
    proxy_cooldown: float = DEFAULT_PROXY_COOLDOWN
    transport: str = "urllib3"
    impersonate: str | None = None
    http2: bool = False

    def __post_init__(self) -> None:
        check_int("PoolConfig.pool_connections", self.pool_connections, minimum=1)
        check_int("PoolConfig.pool_maxsize", self.pool_maxsize, minimum=1)
        check_bool("PoolConfig.pool_block", self.pool_block)
        if self.keepalive_expiry is not None:
            check_seconds("PoolConfig.keepalive_expiry", self.keepalive_expiry, allow_zero=False)
        check_timeout(self.timeout)
        object.__setattr__(self, "headers", check_headers(self.headers))
        check_auth(self.auth)
        check_verify(self.verify)
        check_cert(self.cert)
        check_ssl_context(self.ssl_context, self.verify, self.cert)
        if self.socket_options is not None:
            object.__setattr__(self, "socket_options", check_socket_options(self.socket_options))
        check_source_address(self.source_address)
        proxies = check_str_mapping("PoolConfig.proxies", self.proxies)
        object.__setattr__(self, "proxies", FrozenDict(proxies))
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
        self._check_per_host()
        if self.deadline is not None:
            object.__setattr__(self, "deadline", check_seconds("PoolConfig.deadline", self.deadline, allow_zero=False))
        object.__setattr__(self, "proxy_rotation", check_proxy_rotation(self.proxy_rotation, self.proxies))
        check_int("PoolConfig.proxy_failure_limit", self.proxy_failure_limit, minimum=1)
        cooldown = check_seconds("PoolConfig.proxy_cooldown", self.proxy_cooldown, allow_zero=True)
        object.__setattr__(self, "proxy_cooldown", cooldown)
        check_transport(self.transport, self.impersonate, self.http2, self.ssl_context, self.socket_options)

    def _check_per_host(self) -> None:
        if self.per_host_limit is not None:
            check_int("PoolConfig.per_host_limit", self.per_host_limit, minimum=1)
        if self.per_host_rate is not None:
            what = "number of requests a second"
            rate = check_number("PoolConfig.per_host_rate", self.per_host_rate, allow_zero=False, what=what)
            object.__setattr__(self, "per_host_rate", rate)
        if self.per_host_burst is not None:
            check_int("PoolConfig.per_host_burst", self.per_host_burst, minimum=1)
            if self.per_host_rate is None:
                raise ValueError(
                    "PoolConfig.per_host_burst is the burst of per_host_rate, which is not set:"
                    " give per_host_rate too, or leave per_host_burst out"
                )
        object.__setattr__(
            self, "per_host_delay", check_seconds("PoolConfig.per_host_delay", self.per_host_delay, allow_zero=True)
        )
        if self.autothrottle is not None and not isinstance(self.autothrottle, AutoThrottle):
            got = describe(self.autothrottle)
            raise TypeError(f"PoolConfig.autothrottle must be an AutoThrottle or None, got {got}")
        pause_max = check_seconds("PoolConfig.per_host_pause_max", self.per_host_pause_max, allow_zero=True)
        object.__setattr__(self, "per_host_pause_max", pause_max)
        if self.per_host_wait_max is not None:
            wait_max = check_seconds("PoolConfig.per_host_wait_max", self.per_host_wait_max, allow_zero=False)
            object.__setattr__(self, "per_host_wait_max", wait_max)

    def __repr__(self) -> str:
        """Every field, with the secrets a config may hold redacted: it gets logged.

        ``auth`` shows its kind (a pair, its user), headers that carry
        credentials (``Authorization``, ``Cookie``, ``X-Api-Key``, ...) show
        ``***``, and so do the credentials of proxy URLs.
        """
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "auth":
                shown = redact_auth(value)
            elif f.name == "headers":
                shown = f"FrozenDict({redact_headers(value)!r})"
            elif f.name == "proxies":
                shown = f"FrozenDict({ {key: redact_url(url) for key, url in value.items()}!r})"
            elif f.name == "proxy_rotation":
                shown = repr(tuple(redact_url(url) for url in value))
            else:
                shown = repr(value)
            parts.append(f"{f.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __hash__(self) -> int:
        return hash(tuple(_hash_part(getattr(self, f.name)) for f in dataclasses.fields(self)))

    # -- copying and pickling: a config is an immutable value ---------------

    def __copy__(self) -> PoolConfig:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> PoolConfig:
        # An SSLContext cannot be copied; like the callables, it is shared.
        values = {
            f.name: value if f.name == "ssl_context" else copy.deepcopy(value, memo)
            for f in dataclasses.fields(self)
            for value in (getattr(self, f.name),)
        }
        return type(self)(**values)

    def __getstate__(self) -> dict[str, Any]:
        # Pickle each field alone first, so that a field that cannot cross
        # to another process is named, with what to do instead.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:
                pickle.dumps(value)
            except Exception as exc:
                raise pickle.PicklingError(
                    f"PoolConfig.{f.name} cannot be pickled ({exc}); {_PICKLE_ADVICE.get(f.name, _CALLABLE_ADVICE)}"
                ) from exc
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

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


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(PoolConfig))


def _hash_part(value: object) -> object:
    """A hashable stand-in for one field's value, consistent with the value's own equality."""
    if isinstance(value, Mapping):
        return frozenset(value.items())
    try:
        hash(value)
    except TypeError:
        # Equal by value, unhashable (requests' HTTPBasicAuth): its type is a
        # stand-in that equal values share.
        return type(value).__qualname__
    return value


_CALLABLE_ADVICE = (
    "send a config whose callables are module-level functions or classes (functools.partial of one"
    " for arguments): lambdas and nested functions cannot be pickled"
)
_PICKLE_ADVICE = {
    "ssl_context": (
        "an ssl.SSLContext cannot cross processes: build the config in the worker (in a module-level"
        " function), or give verify the path of a CA bundle instead"
    ),
}
