"""The fence: every use of a private name of requests or urllib3, and nothing else.

sessionpool reaches below the documented APIs of requests and urllib3 in a
few places: to count and age connections, to copy a session's headers and
cookies cheaply, to know whether a request body can be rewound. Each such
use lives here, as a small function or a base class whose private-method
overrides hand over to hooks with public names, under a comment that says
what it relies on: the name, its type, since which version it is there, and
what breaks if it changes. The rest of the package calls these and never
names a private attribute of requests or urllib3 itself (a test greps for
it). Things that are public by name but undocumented, yet relied on for
their structure, are listed here too.

Supported versions (``pyproject.toml``): requests >= 2.32.4, urllib3 >= 2.0.2, tenacity >= 8.2.0.
The test suite runs on the newest (``make test``) and on the oldest that
range allows (``make test-oldest``). Everything below holds across it; a
release that breaks an item fails ``tests/test_compat.py``, which checks
each one against the installed versions with real objects.
"""

from __future__ import annotations

import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import FunctionType
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies, get_netrc_auth
from urllib3 import HTTPConnectionPool, HTTPHeaderDict, PoolManager
from urllib3.connection import HTTPConnection
from urllib3.response import BaseHTTPResponse

__all__ = [
    "SESSION_ATTRIBUTES",
    "HookedConnection",
    "HookedConnectionPool",
    "HookedPoolManager",
    "add_connection_keywords",
    "body_can_rewind",
    "cookie_jar_lock",
    "copy_headers",
    "copy_prepared",
    "drop_idle_connections",
    "get_environ_proxies",
    "get_netrc_auth",
    "headers_identical",
    "headers_state",
    "is_requests_own",
    "jar_is_empty",
    "may_set_cookies",
    "merge_setting",
    "netrc_consulted",
    "pool_manager_keywords",
    "pool_sizes",
    "response_headers",
    "set_content",
    "set_pool_sizes",
    "use_pool_classes",
]


_Value = TypeVar("_Value")

# --- requests: sessions -------------------------------------------------------

#: ``requests.Session.__attrs__`` (public name, undocumented): the list of
#: instance attributes ``Session.__getstate__`` pickles, which is every
#: attribute ``Session.__init__`` sets (so since requests 1.0; 2.23 dropped
#: the stale ``prefetch``). If a release set an attribute without listing it,
#: every session would look as if it held unknown state, and a QueuePool
#: would replace each session that comes back instead of restoring it.
SESSION_ATTRIBUTES: frozenset[str] = frozenset(requests.Session.__attrs__)

# Code mirrored from requests, which names nothing private but copies a rule:
#
# - sessionpool._environment's merge_environment_settings mirrors
#   ``requests.Session.merge_environment_settings`` as it is in requests
#   2.32 to 2.34 (unchanged since 2.14 added the ``no_proxy`` key), with the
#   environment's answers cached and one rule changed on purpose (see that
#   module). It relies on ``Session.request`` calling
#   ``self.merge_environment_settings(url, proxies, stream, verify, cert)``
#   with a dict of proxies it may fill in, on the settings it reads
#   (``trust_env``, ``proxies``, ``stream``, ``verify``, ``cert``), and on
#   the helpers below. If requests changed that rule, a pool's sessions
#   would keep the old one: ``tests/test_compat.py`` compares the two.
# - its ``_merge_proxies`` is ``merge_setting`` for two plain dicts: the
#   session's proxies in an OrderedDict, updated with the call's, without
#   those set to None (requests 2.x).

# Public names of requests, undocumented, imported above and re-exported:
#
# - ``requests.sessions.merge_setting(request_setting, session_setting)``:
#   the rule by which a call's setting overrides the session's, used by
#   requests' own ``merge_environment_settings`` (requests 1.0 to 2.34);
# - ``requests.utils.get_environ_proxies(url, no_proxy=None)``: the proxies
#   the environment gives ``url`` (``no_proxy`` a keyword since 2.14);
# - ``requests.utils.get_netrc_auth(url)``: the ``.netrc`` credentials for
#   ``url``'s host, or None (honours ``NETRC`` since 2.25).
#
# If one moved, importing sessionpool would fail with ImportError.


def netrc_consulted(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Credentials that add nothing: tells requests the ``.netrc`` was already consulted.

    Relies on ``Session.prepare_request`` looking ``.netrc`` up only when
    ``trust_env`` is on and neither the request nor the session has auth
    (requests 1.x to 2.34), so any truthy ``auth`` stops the lookup; as a
    callable, requests calls it with the prepared request and uses what it
    returns. If requests looked ``.netrc`` up regardless, a pool's sessions
    would read it on every request again (slower, same answer).
    """
    return request


# --- requests: headers, cookies, bodies ---------------------------------------


def headers_identical(first: CaseInsensitiveDict[str], second: CaseInsensitiveDict[str]) -> bool:
    """Whether two header dicts hold the same names (in the same case), values and order.

    Relies on ``CaseInsensitiveDict._store``: an OrderedDict from each
    lower-cased name to ``(name as given, value)``, since requests 2.9.2
    (a dict before). If it changed, this raises AttributeError on the first
    session returned to a QueuePool.
    """
    return first._store == second._store


def copy_headers(headers: CaseInsensitiveDict[_Value]) -> CaseInsensitiveDict[_Value]:
    """A copy of ``headers``: its storage copied at once, not header by header.

    ``CaseInsensitiveDict()`` alone costs a micro-second (it runs the
    generic ``MutableMapping.update``); the copy needs none of that. Relies
    on ``CaseInsensitiveDict._store`` as :func:`headers_identical` does, and
    on ``__init__`` setting nothing else (requests 2.9.2 to 2.34).
    """
    copy: CaseInsensitiveDict[_Value] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
    copy._store = headers._store.copy()
    return copy


def headers_state(headers: CaseInsensitiveDict[str]) -> tuple[tuple[str, Any], ...]:
    """Everything ``headers`` holds, hashable: each name as given with its value, in order.

    Relies on ``CaseInsensitiveDict._store`` as :func:`headers_identical`
    does. If it changed, this raises AttributeError on a pool's first request.
    """
    return tuple(headers._store.values())


def copy_prepared(template: requests.PreparedRequest, cookies: RequestsCookieJar | None) -> requests.PreparedRequest:
    """A prepared request equal to ``template``, sharing nothing a caller or a redirect may change.

    Its headers are a copy, its hooks new lists, its cookie jar ``cookies``
    (requests gives each prepared request a jar of its own: the redirect
    machinery adds to it). Every other attribute (method, URL, body, which
    are immutable, and ``_body_position``) is taken as it is. Relies on
    ``PreparedRequest._cookies`` holding that jar (requests 2.x) and on
    ``__init__`` setting nothing but instance attributes; a release that
    added state to ``__init__`` would show in ``tests/test_compat.py``.
    """
    copy = requests.PreparedRequest.__new__(requests.PreparedRequest)
    copy.__dict__.update(template.__dict__)
    copy.headers = copy_headers(template.headers)
    copy.hooks = {event: list(hooks) for event, hooks in template.hooks.items()}
    copy._cookies = cookies
    return copy


def may_set_cookies(raw: Any) -> bool:
    """Whether extracting cookies from the urllib3 response ``raw`` could find any.

    requests' ``extract_cookies_to_jar`` reads the ``Set-Cookie`` and
    ``Set-Cookie2`` headers of ``raw._original_response.msg``, the
    ``http.client`` message urllib3 copies into ``raw.headers`` (urllib3 1.x
    and 2.x); when neither is there it stores nothing. Only a urllib3
    response is answered False; anything else may hold cookies.
    """
    if not isinstance(raw, BaseHTTPResponse):
        return True
    headers = raw.headers
    return "set-cookie" in headers or "set-cookie2" in headers


def response_headers(raw: Any) -> CaseInsensitiveDict[str]:
    """``CaseInsensitiveDict(raw.headers)``, as requests' ``build_response`` makes it, built at once.

    requests copies urllib3's ``HTTPHeaderDict`` name by name through the
    generic ``MutableMapping.update``: each name as first received, with its
    values joined by ``", "`` (``HTTPHeaderDict.__getitem__``). Its public
    ``itermerged()`` yields exactly those pairs (urllib3 1.x and 2.x). Relies
    on ``CaseInsensitiveDict._store`` as :func:`copy_headers` does.
    """
    headers = getattr(raw, "headers", {})
    if type(headers) is not HTTPHeaderDict:
        return CaseInsensitiveDict(headers)
    copy: CaseInsensitiveDict[str] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
    copy._store = OrderedDict((name.lower(), (name, value)) for name, value in headers.itermerged())
    return copy


def is_requests_own(function: Any, module: str, qualname: str) -> bool:
    """Whether ``function`` is requests' own ``module.qualname``, not a replacement or a wrapper of it.

    A replacement has another module or name; a wrapper made with
    ``functools.wraps`` copies those but has ``__wrapped__``; other wrappers
    (wrapt's proxies) are not plain functions.
    """
    return (
        type(function) is FunctionType
        and function.__module__ == module
        and function.__qualname__ == qualname
        and not hasattr(function, "__wrapped__")
    )


def jar_is_empty(jar: RequestsCookieJar) -> bool:
    """Whether ``jar`` holds no cookie, without iterating it.

    Relies on ``http.cookiejar.CookieJar._cookies``, which RequestsCookieJar
    inherits from the standard library: a dict from domain to path to name
    to Cookie, empty when the jar is (every Python 3). If it changed, this
    raises AttributeError on the first session returned to a QueuePool.
    """
    return not jar._cookies  # type: ignore[attr-defined]


def cookie_jar_lock(jar: RequestsCookieJar) -> threading.RLock:
    """The lock ``jar``'s own writes hold.

    Relies on ``http.cookiejar.CookieJar._cookies_lock``, a
    ``threading.RLock`` that ``set_cookie``, ``clear``, ``extract_cookies``
    and ``add_cookie_header`` hold (every Python 3); requests itself drops
    and recreates it in ``RequestsCookieJar.__getstate__``/``__setstate__``.
    If it changed, a SharedCookieJar would raise AttributeError on first use.
    """
    lock: threading.RLock = jar._cookies_lock
    return lock


def body_can_rewind(request: requests.PreparedRequest) -> bool:
    """Whether requests noted where ``request``'s file-like body starts, so that it can seek back to it.

    Relies on ``PreparedRequest._body_position``: the int ``body.tell()``
    returned when ``prepare_body`` met a body with ``tell``, ``object()`` if
    that failed, None otherwise; since requests 2.12.0, which added it to
    rewind bodies on redirects (``requests.utils.rewind_body`` seeks back to
    it). Read with a default, so if it vanished no stream would be retried.
    """
    return isinstance(getattr(request, "_body_position", None), int)


def set_content(response: requests.Response, content: bytes) -> None:
    """Make ``content`` the body of ``response``, as if requests had read it.

    Relies on ``Response._content`` (the body once read; ``False`` before)
    and ``Response._content_consumed`` (True once the raw stream was read),
    which ``Response.content`` checks before reading and sets after
    (requests 1.x to 2.34). If renamed, ``content`` would read the raw
    stream again, and find it at its end: an empty body.
    """
    response._content = content
    response._content_consumed = True


# --- requests: the adapter ----------------------------------------------------


def set_pool_sizes(adapter: HTTPAdapter, connections: int, maxsize: int, block: bool) -> None:
    """Record the sizes ``adapter``'s pool managers are built with, as ``HTTPAdapter.init_poolmanager`` does.

    Relies on ``HTTPAdapter._pool_connections``, ``_pool_maxsize`` and
    ``_pool_block`` (int, int, bool), set by ``__init__`` and
    ``init_poolmanager`` and listed in ``HTTPAdapter.__attrs__`` (requests
    2.x): requests' own ``proxy_manager_for`` (SOCKS proxies) and
    ``__setstate__`` build pool managers from them. If renamed, those would
    raise AttributeError or use requests' defaults.
    """
    adapter._pool_connections = connections
    adapter._pool_maxsize = maxsize
    adapter._pool_block = block


def pool_sizes(adapter: HTTPAdapter) -> tuple[int, int, bool]:
    """``(pool_connections, pool_maxsize, pool_block)`` of ``adapter``; relies on what :func:`set_pool_sizes` does."""
    return adapter._pool_connections, adapter._pool_maxsize, adapter._pool_block


def pool_manager_keywords(manager: PoolManager) -> Mapping[str, Any]:
    """The keywords ``manager`` passes to every connection pool it makes.

    Relies on ``PoolManager.connection_pool_kw`` (public name, undocumented
    attribute; urllib3 1.x and 2.x), and on requests' ``init_poolmanager``
    putting only ``maxsize`` and ``block`` in it for an adapter configured
    with nothing else (requests 2.x): a key beyond those means the adapter
    was configured, so a factory's adapter would be refused as not plain.
    """
    return manager.connection_pool_kw


# --- urllib3: connections, pools, pool managers --------------------------------


class HookedConnection(HTTPConnection):
    """An HTTP connection that calls :meth:`socket_opened` each time it opens a socket.

    Overrides ``HTTPConnection._new_conn() -> socket.socket``: the method
    that opens the TCP socket, called by ``connect()`` of HTTP and HTTPS
    connections alike (TLS follows on the socket it returns), also for the
    silent reconnect of a connection the server dropped (urllib3 1.x and
    2.x). If it were renamed, no socket would be counted or announced.
    """

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.socket_opened()
        return sock

    def socket_opened(self) -> None:
        """Called once a socket is connected (not for a refused or timed-out connect)."""


class HookedConnectionPool(HTTPConnectionPool):
    """A connection pool that hands each checkout, return and request to a hook with a public name.

    Overrides three private methods of ``HTTPConnectionPool`` (urllib3 2.0 to
    2.8; an HTTPS pool inherits them unchanged), each only to call a hook:

    - ``_get_conn(timeout=None)`` returns the connection a request checks
      out: one from the pool's queue, or a new one made with ``conn_kw`` in
      place of an empty (None) slot;
    - ``_put_conn(conn)`` puts a connection (or None, after a failure) back;
    - ``_make_request(conn, method, url, ...)`` sends one request on a
      checked-out connection and reads the response head (its keywords are
      urllib3 2.0's, passed through untouched); a connection that is not
      open connects inside it, so an error it raises came before any of the
      response arrived.

    If any were renamed, the hook would silently never run: connections
    would not age, not count as idle or active, and stale-connection
    failures would not be marked for retry.
    """

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        self.connection_checked_out(conn)
        return conn

    def _put_conn(self, conn: Any) -> None:
        self.connection_returning(conn)
        super()._put_conn(conn)

    def _make_request(self, conn: Any, method: str, url: str, *args: Any, **kwargs: Any) -> BaseHTTPResponse:
        reused = self.request_starting(conn)
        try:
            return super()._make_request(conn, method, url, *args, **kwargs)
        except BaseException as error:
            self.request_failed(conn, error, reused)
            raise

    def connection_checked_out(self, conn: Any) -> None:
        """Called with the connection a request just checked out, before the request uses it."""

    def connection_returning(self, conn: Any) -> None:
        """Called with the connection (or None) about to go back into the pool's queue."""

    def request_starting(self, conn: Any) -> bool:
        """Called before a request is sent on ``conn``; returns whether ``conn`` is reused (already open)."""
        return not conn.is_closed

    def request_failed(self, conn: Any, error: BaseException, reused: bool) -> None:
        """Called with an error raised before the response head arrived; the error is raised on after it."""


def drop_idle_connections(pool: HTTPConnectionPool, doomed: Callable[[Any], bool]) -> list[Any]:
    """Take the idle connections of ``pool`` that ``doomed`` picks out of its queue, and return them unclosed.

    Each leaves an empty (None) slot behind, as urllib3 keeps the queue
    full: a checkout that finds None makes a new connection. Relies on
    ``HTTPConnectionPool.pool`` (public name, undocumented: the
    ``queue.LifoQueue`` of idle connections and None slots, None once the
    pool is closed) and on the queue's own ``mutex`` and ``queue`` (the
    list under a LifoQueue), both undocumented attributes of the standard
    library's ``queue.Queue`` (every Python 3), and on ``_get_conn``
    treating None as "make one" (urllib3 1.x and 2.x). If the pool's queue
    changed, nothing would be dropped after a stale-connection failure
    (AttributeError if its attributes went).
    """
    queue = pool.pool
    if queue is None:
        return []
    taken = []
    with queue.mutex:
        slots = queue.queue
        for index, conn in enumerate(slots):
            if conn is not None and doomed(conn):
                taken.append(conn)
                slots[index] = None
    return taken


def add_connection_keywords(pool: HTTPConnectionPool, **keywords: Any) -> None:
    """Have ``pool`` pass ``keywords`` to every connection it makes from now on.

    Relies on ``HTTPConnectionPool.conn_kw`` (public name, undocumented
    attribute): the pool's own dict, passed as ``ConnectionCls(host, port,
    ..., **conn_kw)`` by the pool's ``_new_conn``, and on the pool making no
    connection in ``__init__`` (its queue starts as None slots) (urllib3 1.x
    and 2.x). If it changed, connections would be made without the keywords
    (a TypeError from our connection classes, which require them).
    """
    pool.conn_kw.update(keywords)


class HookedPoolManager(PoolManager):
    """A pool manager that calls :meth:`pool_created` with each connection pool it makes.

    Overrides ``PoolManager._new_pool(scheme, host, port, request_context)``,
    which makes every connection pool of the manager, of the class
    ``pool_classes_by_scheme[scheme]`` (urllib3 1.x and 2.x); a
    ``ProxyManager`` inherits it unchanged. If it were renamed, the hook
    would not run and connections would miss their settings.
    """

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        self.pool_created(pool, port)
        return pool

    def pool_created(self, pool: HTTPConnectionPool, port: int) -> None:
        """Called with each new connection pool and the port it was asked for, before its first use."""


def use_pool_classes(manager: PoolManager, classes: dict[str, type[HTTPConnectionPool]]) -> None:
    """Have ``manager`` make its connection pools of ``classes`` (by scheme: ``http``, ``https``).

    Relies on ``PoolManager.pool_classes_by_scheme`` (public name,
    undocumented attribute): the dict ``_new_pool`` picks a pool's class
    from, set per manager by ``__init__`` (urllib3 1.x and 2.x). If it
    changed, the manager would make urllib3's own pools, unhooked.
    """
    manager.pool_classes_by_scheme = classes
