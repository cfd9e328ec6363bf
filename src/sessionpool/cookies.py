"""One cookie jar that many threads' sessions can share: :class:`SharedCookieJar`.

``http.cookiejar.CookieJar`` locks its own writes and the cookie lookup for
a request, but iterating the jar is not locked, and requests iterates the
session's jar on every request (to merge it with the request's cookies).
One jar shared by threads then fails with "dictionary changed size during
iteration" as another thread stores a cookie. This jar iterates over a
snapshot taken under the jar's own lock, so readers and writers never
collide and no cookie is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.cookiejar import Cookie

from requests.cookies import RequestsCookieJar

__all__ = ["SharedCookieJar"]


class SharedCookieJar(RequestsCookieJar):
    """A :class:`requests.cookies.RequestsCookieJar` safe to share between threads."""

    def __iter__(self) -> Iterator[Cookie]:  # type: ignore[override]  # a CookieJar iterates its cookies
        # Every read of requests' jar API (get, items, update from this jar,
        # copy, ...) iterates; the lock is the jar's own RLock, so a thread
        # already holding it (inside a locked write) may iterate too.
        with self._cookies_lock:
            snapshot = list(super().__iter__())
        return iter(snapshot)
