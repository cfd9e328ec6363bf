"""A session's configured state, kept to give the session back to the next borrower unchanged.

A borrower of a :class:`~sessionpool.QueuePool` session may log in (cookies),
set headers or auth, add params or hooks, or turn verification off. None of
that may reach the next borrower, so the pool captures the session's state
once it is configured and restores it each time the session comes back.

A baseline knows the state of a plain :class:`requests.Session`: the
attributes requests itself gives every session. A session that holds more
(a subclass's token, a cache, a limiter, an attribute a borrower added) or
whose adapters changed (one a borrower mounted) cannot be proven restored
by it: :meth:`SessionBaseline.holds_only_plain_state` and
:meth:`SessionBaseline.keeps_adapters` say so, and the pool then replaces
the session rather than lend it on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict

from sessionpool._compat import SESSION_ATTRIBUTES, copy_headers, headers_identical, jar_is_empty

__all__ = ["SessionBaseline"]

#: The instance attributes a plain requests.Session has, plus the two that a
#: pool's environment cache binds on it, the fast path's ``request`` and the
#: deadline's ``send``: state a baseline can restore.
_RESTORABLE_ATTRIBUTES = SESSION_ATTRIBUTES | {"merge_environment_settings", "prepare_request", "request", "send"}


@dataclass(frozen=True)
class SessionBaseline:
    """The per-borrower state of a session as the pool configured it."""

    headers: CaseInsensitiveDict[str]
    auth: Any
    params: dict[str, Any]
    hooks: dict[str, list[Any]]
    proxies: dict[str, str]
    verify: Any
    cert: Any
    trust_env: bool
    stream: bool
    max_redirects: int
    cookies: RequestsCookieJar
    adapters: tuple[tuple[str, object], ...]

    @classmethod
    def capture(cls, session: requests.Session) -> SessionBaseline:
        """The state of ``session`` now, copied."""
        return cls(
            headers=copy_headers(session.headers),
            auth=session.auth,
            params=dict(session.params),
            hooks={event: list(hooks) for event, hooks in session.hooks.items()},
            proxies=dict(session.proxies),
            verify=session.verify,
            cert=session.cert,
            trust_env=session.trust_env,
            stream=session.stream,
            max_redirects=session.max_redirects,
            cookies=_copy_jar(session.cookies),
            adapters=tuple(session.adapters.items()),
        )

    @staticmethod
    def holds_only_plain_state(session: requests.Session) -> bool:
        """Whether ``session`` has no instance attribute beyond a plain session's: all :meth:`restore` knows of."""
        return vars(session).keys() <= _RESTORABLE_ATTRIBUTES

    def keeps_adapters(self, session: requests.Session) -> bool:
        """Whether ``session`` has exactly the adapters it was made with (a mounted one cannot be undone)."""
        mounted = session.adapters
        return len(mounted) == len(self.adapters) and all(
            mounted.get(prefix) is adapter for prefix, adapter in self.adapters
        )

    def restore(self, session: requests.Session, *, shared_cookies: RequestsCookieJar | None) -> None:
        """Put ``session`` back in this state.

        What differs from the baseline is replaced by a fresh copy of it;
        what a borrower left as it was stays, so a session that comes back
        untouched costs a few comparisons and no allocation. ``shared_cookies``
        is the pool's shared jar, given back as it is (a borrower may have
        swapped it out); without one, cookies go back to the baseline's.
        """
        if not headers_identical(session.headers, self.headers):
            session.headers = copy_headers(self.headers)
        if session.auth is not self.auth:
            session.auth = self.auth
        if session.params != self.params:
            session.params = dict(self.params)
        if session.hooks != self.hooks:
            session.hooks = {event: list(hooks) for event, hooks in self.hooks.items()}
        if session.proxies != self.proxies:
            session.proxies = dict(self.proxies)
        session.verify = self.verify
        session.cert = self.cert
        session.trust_env = self.trust_env
        session.stream = self.stream
        session.max_redirects = self.max_redirects
        if shared_cookies is not None:
            session.cookies = shared_cookies
        elif not _is_empty_plain_jar(session.cookies) or not _is_empty_plain_jar(self.cookies):
            session.cookies = _copy_jar(self.cookies)


# The copies below run at every return to a queue pool, so they take the
# short way where requests' own copy() takes the long one (the headers'
# copy is sessionpool._compat.copy_headers).


def _copy_jar(jar: RequestsCookieJar) -> RequestsCookieJar:
    """A copy of ``jar`` holding copies of its cookies, under the same policy."""
    if _is_empty_plain_jar(jar):
        return RequestsCookieJar(jar.get_policy())  # nothing to copy
    return jar.copy()


def _is_empty_plain_jar(jar: RequestsCookieJar) -> bool:
    return type(jar) is RequestsCookieJar and jar_is_empty(jar)
