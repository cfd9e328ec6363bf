"""What requests reads from the environment, read once per pool and origin: :class:`EnvironmentCache`.

With ``trust_env`` on (requests' default), a :class:`requests.Session` looks
at the environment on every request: it scans ``os.environ`` for proxy
variables and ``NO_PROXY`` (twice), reads ``REQUESTS_CA_BUNDLE`` and
``CURL_CA_BUNDLE``, and opens ``~/.netrc``. On a loopback request that is a
large share of the whole cost, and the answers do not change while a
program runs. A pool's sessions ask this cache instead: it asks requests'
own functions once per origin (scheme, host and port) and remembers the
answer, so the semantics stay requests' own and only their timing changes.
``pool.invalidate()`` forgets what was read, for a program that changes its
environment on purpose.

One rule differs from requests', on purpose: a CA bundle from the
environment (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) replaces only the
default ``verify=True``. requests lets it override a ``verify`` the session
was given too (requests#3829); a pool's configuration is written down by its
user, so a CA path, ``verify=False`` or an ``ssl_context`` in it wins over
the environment. A call's own ``verify`` wins over both, as in requests.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import requests

from sessionpool._compat import get_environ_proxies, get_netrc_auth, merge_setting, netrc_consulted

__all__ = ["EnvironmentCache", "origin"]

_MAX_ORIGINS = 4096  # a crawler may reach many hosts: past this, start again


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, cheaply: the environment's answers depend on nothing else."""
    scheme, _, rest = url.partition("://")
    return scheme + "://" + rest.split("/", 1)[0].split("?", 1)[0]


def _merge_proxies(given: Any, configured: Any) -> Any:
    """The ``merge_setting`` of requests for two plain dicts of proxies, the short way.

    The general function converts both through a runtime protocol check that
    costs ten micro-seconds a request; for two dicts the rule is simply:
    the session's proxies, updated with the call's, without those set to None.
    """
    if type(given) is not dict or type(configured) is not dict:
        return merge_setting(given, configured)
    merged = OrderedDict(configured)
    merged.update(given)
    for scheme in [scheme for scheme, proxy in merged.items() if proxy is None]:
        del merged[scheme]
    return merged


class EnvironmentCache:
    """Answers to requests' environment questions, kept per origin for one pool."""

    def __init__(self) -> None:
        # Plain dicts: a lookup or a store is atomic, and two threads that
        # miss at once both compute the same answer.
        self._proxies: dict[tuple[str, str | None], dict[str, str]] = {}
        self._netrc: dict[str, tuple[str, str] | None] = {}
        self._ca_bundle: list[str | None] = []

    def clear(self) -> None:
        """Forget every answer: the next request reads the environment again."""
        self._proxies = {}
        self._netrc = {}
        self._ca_bundle = []

    def proxies(self, url: str, no_proxy: str | None) -> dict[str, str]:
        """The proxies the environment gives ``url`` (none if ``NO_PROXY`` covers it)."""
        key = (origin(url), no_proxy)
        found = self._proxies.get(key)
        if found is None:
            if len(self._proxies) >= _MAX_ORIGINS:
                self._proxies = {}
            found = self._proxies[key] = get_environ_proxies(url, no_proxy=no_proxy)
        return found

    def ca_bundle(self) -> str | None:
        """``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``, else None."""
        if not self._ca_bundle:
            self._ca_bundle = [os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")]
        return self._ca_bundle[0]

    def netrc_auth(self, url: str, url_origin: str | None = None) -> tuple[str, str] | None:
        """The ``.netrc`` credentials for ``url``'s host, if any (``url_origin``: its origin, if already known)."""
        if url_origin is None:
            url_origin = origin(url)
        if url_origin not in self._netrc:
            if len(self._netrc) >= _MAX_ORIGINS:
                self._netrc = {}
            self._netrc[url_origin] = get_netrc_auth(url)
        return self._netrc[url_origin]

    def bind(self, session: requests.Session, *, context_decides_trust: bool = False) -> None:
        """Make ``session`` ask this cache instead of the environment.

        ``context_decides_trust``: the pool has an ``ssl_context``, so no CA
        bundle from the environment applies to the session's own ``verify``.
        Only a session whose class keeps requests' own versions of the two
        methods concerned is changed: a subclass that overrides them (to read
        its settings elsewhere) is left to do so.
        """
        cls = type(session)
        if cls.merge_environment_settings is requests.Session.merge_environment_settings:
            session.merge_environment_settings = self._merger(session, context_decides_trust)  # type: ignore[method-assign]
        if cls.prepare_request is requests.Session.prepare_request:
            session.prepare_request = self._preparer(session, cls.prepare_request)  # type: ignore[method-assign, assignment]

    def _merger(self, session: requests.Session, context_decides_trust: bool) -> Callable[..., dict[str, Any]]:
        def merge_environment_settings(
            url: str, proxies: dict[str, str] | None, stream: bool | None, verify: Any, cert: Any
        ) -> dict[str, Any]:
            # requests' rule (what version it mirrors, and what it relies on:
            # sessionpool._compat), with the environment's answers taken from the
            # cache, except that an environment CA bundle replaces only the
            # default verify=True, never one the session was given.
            if session.trust_env:
                if proxies is not None:
                    for scheme, proxy in self.proxies(url, proxies.get("no_proxy")).items():
                        proxies.setdefault(scheme, proxy)
                if (verify is True or verify is None) and session.verify is True and not context_decides_trust:
                    verify = self.ca_bundle() or verify
            return {
                "proxies": _merge_proxies(proxies, session.proxies),
                "stream": merge_setting(stream, session.stream),
                "verify": merge_setting(verify, session.verify),
                "cert": merge_setting(cert, session.cert),
            }

        return merge_environment_settings

    def _preparer(
        self,
        session: requests.Session,
        prepare: Callable[[requests.Session, requests.Request], requests.PreparedRequest],
    ) -> Callable[[requests.Request], requests.PreparedRequest]:
        def prepare_request(request: requests.Request) -> requests.PreparedRequest:
            # requests looks up .netrc when neither the request nor the session
            # has credentials; answer from the cache, and tell requests so. A
            # URL with credentials in it is left to requests, which falls back
            # to them when .netrc has none.
            url = request.url
            if not (session.trust_env and not request.auth and not session.auth) or not isinstance(url, str):
                return prepare(session, request)
            url_origin = origin(url)
            if "@" in url_origin:
                return prepare(session, request)
            original = request.auth
            request.auth = self.netrc_auth(url, url_origin) or netrc_consulted
            try:
                return prepare(session, request)
            finally:
                request.auth = original

        return prepare_request
