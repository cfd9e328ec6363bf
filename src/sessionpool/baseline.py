"""A session's configured state, kept to give the session back to the next borrower unchanged.

A borrower of a :class:`~sessionpool.QueuePool` session may log in (cookies),
set headers or auth, add params or hooks, or turn verification off. None of
that may reach the next borrower, so the pool captures the session's state
once it is configured and restores it each time the session comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict

__all__ = ["SessionBaseline"]


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

    @classmethod
    def capture(cls, session: requests.Session) -> SessionBaseline:
        """The state of ``session`` now, copied."""
        return cls(
            headers=session.headers.copy(),
            auth=session.auth,
            params=dict(session.params),
            hooks={event: list(hooks) for event, hooks in session.hooks.items()},
            proxies=dict(session.proxies),
            verify=session.verify,
            cert=session.cert,
            trust_env=session.trust_env,
            stream=session.stream,
            max_redirects=session.max_redirects,
            cookies=session.cookies.copy(),
        )

    def restore(self, session: requests.Session, *, shared_cookies: RequestsCookieJar | None) -> None:
        """Put ``session`` back in this state.

        Every container is a new object, so a borrower who kept a reference
        to one (``jar = session.cookies``) cannot reach the next borrower.
        ``shared_cookies`` is the pool's shared jar, given back as it is;
        without one the session gets a fresh copy of its baseline cookies.
        """
        session.headers = self.headers.copy()
        session.auth = self.auth
        session.params = dict(self.params)
        session.hooks = {event: list(hooks) for event, hooks in self.hooks.items()}
        session.proxies = dict(self.proxies)
        session.verify = self.verify
        session.cert = self.cert
        session.trust_env = self.trust_env
        session.stream = self.stream
        session.max_redirects = self.max_redirects
        session.cookies = shared_cookies if shared_cookies is not None else self.cookies.copy()
