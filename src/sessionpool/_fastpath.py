"""The fast request path of a pool's sessions: requests' own results, for less work per call.

A plain :class:`requests.Session` builds every request from nothing. It
merges the session's headers, params, auth, cookies and hooks into the
call's, parses and re-quotes the URL and checks every header; after the
response it extracts cookies into two jars and starts the redirect machinery.
It does all that even when nothing changed since the last call and the
response sets no cookie. A service's calls mostly repeat: the same URLs,
the same headers, no cookies. A pool's session takes a shorter way through
the same steps, when its class keeps requests' own ``request`` and
``send``:

- **Preparing.** A request whose preparation depends only on values that
  cannot change is prepared once, by requests' own ``prepare_request``, and
  kept pool-wide. Such a request has no params, files, json, auth, cookies or
  hooks of its own, and a body of at most a short ``str`` or ``bytes``. Its
  session has no params, auth or hooks and an empty cookie jar. The copy is
  keyed by everything that went into it: the method, the URL, the call's
  headers and body, the session's headers and ``trust_env``. Each call gets
  a copy of it, with its own headers, cookie jar and hooks. Any other request
  is prepared by requests, as always.
- **Sending.** The steps of requests' ``Session.send`` run in the same order
  with the same arguments, with two exceptions. Cookies are extracted only
  from a response that sets some. The redirect machinery runs only for a
  redirect.

A session whose class overrides ``request`` or ``send`` (a cache, a rate
limiter, an OAuth session) is left alone: every call goes through its own
methods. If requests' own ``Session.request`` or ``Session.send`` is
replaced after the session was made (OpenTelemetry's instrumentation, a test
double), each call sees it and goes through the replacement. The identity of
results with a plain session's is tested field by field on generated requests
(``tests/test_fastpath_identity.py``), and by requests' own test suite run
against pooled sessions (``make compat``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Hashable
from datetime import timedelta
from typing import Any

import requests
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.hooks import dispatch_hook
from requests.models import PreparedRequest, Request, Response
from requests.sessions import preferred_clock
from requests.structures import CaseInsensitiveDict

from sessionpool._compat import copy_prepared, headers_state, is_requests_own, jar_is_empty, may_set_cookies
from sessionpool._cookies import SharedCookieJar
from sessionpool._deadline import deadline_of, within
from sessionpool._environment import origin

__all__ = ["PreparedCache", "bind_fast_path"]

_REQUEST = requests.Session.request
_SEND = requests.Session.send
_PREPARE_REQUEST = requests.Session.prepare_request
_GET_REDIRECT_TARGET = requests.Session.get_redirect_target
#: Whether requests' own methods were still requests' own when sessionpool was
#: imported: a tool that replaced them earlier keeps every call on its path.
_REQUESTS_UNPATCHED = (
    is_requests_own(_REQUEST, "requests.sessions", "Session.request")
    and is_requests_own(_SEND, "requests.sessions", "Session.send")
    and is_requests_own(_PREPARE_REQUEST, "requests.sessions", "Session.prepare_request")
    and is_requests_own(_GET_REDIRECT_TARGET, "requests.sessions", "SessionRedirectMixin.get_redirect_target")
)

_MAX_TEMPLATES = 1024  # past this, the cache starts again
_MAX_KEPT_BODY = 1024  # bytes: a longer body is prepared for each call, not kept
_NO_HOOKS: dict[str, list[Any]] = {"response": []}
_PLAIN_JARS = (RequestsCookieJar, SharedCookieJar)


class PreparedCache:
    """Prepared requests kept for one pool, as requests' own ``prepare_request`` made them.

    Two kinds are kept. One per URL, copied as it is for a call that repeats
    one. And one per origin (scheme and authority), for a call to a URL not
    seen before: a copy of it gets the new URL from requests' own
    ``prepare_url``. That is all of a preparation that depends on the URL
    when the request has no params and no cookies and its URL names no user:
    auth from ``.netrc`` depends on the host alone. A crawl of distinct URLs
    is prepared once per host.
    """

    def __init__(self) -> None:
        # Plain dicts: a lookup or a store is atomic; two threads that miss
        # at once both prepare the same request, and one copy is kept.
        self._templates: dict[Hashable, PreparedRequest] = {}
        self._origins: dict[Hashable, PreparedRequest] = {}

    def clear(self) -> None:
        """Forget every prepared request (the environment's answers changed: ``.netrc`` goes into them)."""
        self._templates = {}
        self._origins = {}

    def prepared(
        self, session: requests.Session, method: str, url: str, headers: Any, data: Any
    ) -> PreparedRequest | None:
        """A copy of the kept preparation of this request on ``session`` (made now if new); None if none can be kept."""
        key = _template_key(session, method, url, headers, data)
        if key is None:
            return None
        try:
            template = self._templates.get(key)
        except TypeError:  # an unhashable header value: requests says what is wrong with it
            return None
        if template is not None:
            return copy_prepared(template, cookies=RequestsCookieJar())
        origin = _origin(url)
        origin_key = None if origin is None else (origin, *key[1:])
        base = None if origin_key is None else self._origins.get(origin_key)
        if base is not None:
            prepared = copy_prepared(base, cookies=RequestsCookieJar())
            prepared.prepare_url(url, None)  # no params: what the call's empty ones encode to
        else:
            prepared = session.prepare_request(
                Request(method=method.upper(), url=url, headers=headers, data=data or {}, params={})
            )
            if origin_key is not None:
                _keep(self._origins, origin_key, prepared)
        _keep(self._templates, key, prepared)
        return prepared


def _keep(templates: dict[Hashable, PreparedRequest], key: Hashable, prepared: PreparedRequest) -> None:
    """Keep a copy of ``prepared`` under ``key``, starting ``templates`` again once it is full."""
    if len(templates) >= _MAX_TEMPLATES:
        templates.clear()
    templates[key] = copy_prepared(prepared, cookies=None)


def _origin(url: str) -> str | None:
    """``scheme://authority`` of an http(s) URL; None for any other, and for one that names a user."""
    where = origin(url)
    scheme, _, authority = where.partition("://")
    if scheme.lower() not in ("http", "https") or not authority or "@" in authority:
        return None
    return where


def _template_key(
    session: requests.Session, method: Any, url: Any, headers: Any, data: Any
) -> tuple[Hashable, ...] | None:
    """What a kept preparation depends on, or None when it depends on more (or on what can change)."""
    if type(method) is not str or type(url) is not str:
        return None
    if data and not (type(data) in (str, bytes) and len(data) <= _MAX_KEPT_BODY):
        return None
    if headers is None:
        call_headers: tuple[Any, ...] | None = None
    elif type(headers) is dict:
        call_headers = tuple(headers.items())
    else:
        return None
    session_headers = session.headers
    jar = session.cookies
    if (
        type(session_headers) is not CaseInsensitiveDict
        or session.params
        or session.auth is not None
        or session.hooks != _NO_HOOKS
        or type(jar) not in _PLAIN_JARS
        or not jar_is_empty(jar)
    ):
        return None
    return (url, method, call_headers, data or None, headers_state(session_headers), bool(session.trust_env))


def bind_fast_path(session: requests.Session, cache: PreparedCache) -> None:
    """Give ``session`` the fast path, if its class keeps requests' own ``request`` and ``send``."""
    cls = type(session)
    if not _REQUESTS_UNPATCHED or cls.request is not _REQUEST or cls.send is not _SEND:
        return
    # A partial of one module-level function: less memory per session than a closure.
    session.request = functools.partial(_request, cache, session)  # type: ignore[method-assign]


def _request(
    cache: PreparedCache,
    session: requests.Session,
    method: str,
    url: Any,
    params: Any = None,
    data: Any = None,
    headers: Any = None,
    cookies: Any = None,
    files: Any = None,
    auth: Any = None,
    timeout: Any = None,
    allow_redirects: bool = True,
    proxies: Any = None,
    hooks: Any = None,
    stream: Any = None,
    verify: Any = None,
    cert: Any = None,
    json: Any = None,
) -> Response:
    """What ``Session.request`` does for ``session``, its preparation kept in ``cache`` when it can be."""
    cls = type(session)
    if cls.request is not _REQUEST or cls.send is not _SEND:
        # requests' methods were replaced since the session was made: theirs decide.
        return cls.request(
            session, method, url, params=params, data=data, headers=headers, cookies=cookies,
            files=files, auth=auth, timeout=timeout, allow_redirects=allow_redirects,
            proxies=proxies, hooks=hooks, stream=stream, verify=verify, cert=cert, json=json,
        )  # fmt: skip
    if isinstance(url, bytes):
        url = url.decode("utf-8")
    prepared = None
    if (
        cls.prepare_request is _PREPARE_REQUEST
        and not params
        and cookies is None
        and files is None
        and auth is None
        and hooks is None
        and json is None
    ):
        prepared = cache.prepared(session, method, url, headers, data)
    if prepared is None:
        prepared = session.prepare_request(
            Request(
                method=method.upper(), url=url, headers=headers, files=files, data=data or {},
                json=json, params=params or {}, auth=auth, cookies=cookies, hooks=hooks,
            )
        )  # fmt: skip
    proxies = proxies or {}
    settings = session.merge_environment_settings(prepared.url, proxies, stream, verify, cert)  # type: ignore[arg-type]
    send_kwargs: dict[str, Any] = {"timeout": timeout, "allow_redirects": allow_redirects}
    send_kwargs.update(settings)
    seconds = deadline_of(session)
    if seconds is None:
        return _send(session, prepared, send_kwargs)
    with within(seconds):  # redirect hops go through session.send, and join this deadline
        return _send(session, prepared, send_kwargs)


def _send(session: requests.Session, request: PreparedRequest, kwargs: dict[str, Any]) -> Response:
    """What requests' ``Session.send`` does, step by step, skipping only the steps that would do nothing."""
    kwargs.setdefault("stream", session.stream)
    kwargs.setdefault("verify", session.verify)
    kwargs.setdefault("cert", session.cert)
    if "proxies" not in kwargs:  # pragma: no cover - merge_environment_settings always gives them
        kwargs["proxies"] = requests.utils.resolve_proxies(request, session.proxies, session.trust_env)
    allow_redirects = kwargs.pop("allow_redirects", True)
    stream = kwargs.get("stream")
    hooks = request.hooks
    adapter = session.get_adapter(url=request.url)  # type: ignore[arg-type]
    start = preferred_clock()
    response = adapter.send(request, **kwargs)
    response.elapsed = timedelta(seconds=preferred_clock() - start)
    response = dispatch_hook("response", hooks, response, **kwargs)
    if response.history:
        for earlier in response.history:
            extract_cookies_to_jar(session.cookies, earlier.request, earlier.raw)
    if may_set_cookies(response.raw):
        extract_cookies_to_jar(session.cookies, request, response.raw)
    # requests' own get_redirect_target finds no target unless is_redirect.
    may_redirect = response.is_redirect or type(session).get_redirect_target is not _GET_REDIRECT_TARGET
    history = []
    if allow_redirects and may_redirect:
        history = list(session.resolve_redirects(response, request, **kwargs))
    if history:
        history.insert(0, response)
        response = history.pop()
        response.history = history
    if not allow_redirects and may_redirect:
        following = session.resolve_redirects(response, request, yield_requests=True, **kwargs)
        with contextlib.suppress(StopIteration):
            response._next = next(following)  # type: ignore[assignment]
    if not stream:
        response.content  # noqa: B018 - read the body now, as requests does
    return response
