"""The fence around requests' private names: sessions, headers, cookies, bodies and the adapter's sizes.

Each item is a small function that reaches below requests' documented API
(or, for the cookie jar, below the standard library's), under a comment
that says what it relies on: the name, its type, since which version it is
there, and what breaks if it changes. Public names of requests that are
undocumented, yet relied on for their structure, are here too, and so is
what sessionpool mirrors from requests' own code. The fence as a whole,
and the versions it holds for, are described in :mod:`sessionpool._compat`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from types import FunctionType
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies, get_netrc_auth
from urllib3 import HTTPHeaderDict, PoolManager
from urllib3.response import BaseHTTPResponse

__all__ = [
    "SESSION_ATTRIBUTES",
    "body_can_rewind",
    "body_start",
    "cookie_jar_lock",
    "copy_headers",
    "copy_prepared",
    "get_environ_proxies",
    "get_netrc_auth",
    "headers_identical",
    "headers_state",
    "is_requests_own",
    "jar_is_empty",
    "may_set_cookies",
    "merge_setting",
    "merged_headers",
    "netrc_consulted",
    "pool_manager_keywords",
    "pool_sizes",
    "response_headers",
    "set_content",
    "set_pool_sizes",
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


def merged_headers(store: Mapping[str, tuple[str, str]]) -> CaseInsensitiveDict[str]:
    """A ``CaseInsensitiveDict`` holding ``store``: each name in lower case to ``(name, value)``.

    What :func:`response_headers` makes of an ``HTTPHeaderDict`` when each
    name maps to the name as first received and its values joined by ``", "``
    (as ``itermerged()`` joins them). Relies on ``CaseInsensitiveDict._store``
    as :func:`copy_headers` does.
    """
    copy: CaseInsensitiveDict[str] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
    copy._store = OrderedDict(store)
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


def body_start(request: requests.PreparedRequest) -> int | None:
    """Where ``request``'s file-like body starts (``_body_position``, see :func:`body_can_rewind`), or None."""
    start = getattr(request, "_body_position", None)
    return start if isinstance(start, int) else None


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
