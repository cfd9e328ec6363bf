"""One cookie jar that many threads' sessions can share: :class:`SharedCookieJar`.

``http.cookiejar.CookieJar`` locks its own writes and the cookie lookup for
a request, but not the reads and updates requests builds on top of it:

- iterating the jar (which requests does on every request, to merge the
  session's cookies with the request's) walks its nested dicts unlocked: on
  older Pythons that raised "dictionary changed size during iteration" as
  another thread stored a cookie, and on current ones it can see a jar half
  way through an update;
- ``jar.set(name, None)`` and ``del jar[name]`` look a cookie up and then
  remove it in two steps, so two threads removing the same cookie make one
  of them fail with ``KeyError``.

This jar iterates over a snapshot taken under the jar's own lock, and makes
each of those updates one step under the same lock, so readers and writers
never collide and no cookie is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.cookiejar import Cookie
from typing import Any

from requests.cookies import RequestsCookieJar

from sessionpool._compat import cookie_jar_lock

__all__ = ["SharedCookieJar"]


class SharedCookieJar(RequestsCookieJar):
    """A :class:`requests.cookies.RequestsCookieJar` safe to share between threads."""

    def __iter__(self) -> Iterator[Cookie]:  # type: ignore[override]  # a CookieJar iterates its cookies
        # Every read of requests' jar API (get, items, update from this jar,
        # copy, ...) iterates; the lock is the jar's own RLock, so a thread
        # already holding it (inside a locked update) may iterate too.
        with cookie_jar_lock(self):
            snapshot = list(super().__iter__())
        return iter(snapshot)

    def set(self, name: str, value: Any, **kwargs: Any) -> Cookie | None:
        """Set (or, with ``None``, remove) a cookie, as one step."""
        with cookie_jar_lock(self):
            return super().set(name, value, **kwargs)

    def __delitem__(self, name: str) -> None:
        with cookie_jar_lock(self):
            super().__delitem__(name)
