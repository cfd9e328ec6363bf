"""Secrets kept out of what the package writes: URLs, messages, headers and settings with credentials redacted.

Results, reprs, statistics, events and log lines are what users keep, log
and share. Whatever of theirs can carry a secret passes through here first:

- a URL's credentials (``user:password@``, or a token as user name) become
  ``***`` (:func:`redact_url`), also inside a message (:func:`redact_text`);
- a header that carries credentials (``Authorization``,
  ``Proxy-Authorization``, ``Cookie``, and any whose name speaks of a
  token, key, secret, password or session) shows ``***`` for its value
  (:func:`redact_headers`);
- credentials given as ``auth`` show as their kind only (:func:`redact_auth`).

What a URL's path or query holds (``?api_key=...``) is the URL itself, and
is left as it is: put credentials in headers or ``auth``, not in URLs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["REDACTED", "is_secret_header", "redact_auth", "redact_headers", "redact_text", "redact_url"]

#: What stands for a secret: ``http://***@host/``, ``Authorization: ***``.
REDACTED = "***"
#: A URL's scheme, ``//``, and credentials up to the ``@`` before its host.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@'\"<>]*@")


def redact_url(url: str) -> str:
    """``url`` with its credentials (user name and password) replaced by ``***``; any text is taken."""
    if "@" not in url:
        return url
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    end = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if found != -1:
            end = min(end, found)
    at = rest.rfind("@", 0, end)
    if at == -1:
        return url
    return f"{scheme}://{REDACTED}@{rest[at + 1 :]}"


def redact_text(text: str) -> str:
    """``text`` (a message) with the credentials of every URL in it replaced by ``***``."""
    return _USERINFO.sub(rf"\1{REDACTED}@", text) if "@" in text else text


#: Header names that carry credentials, and the words that make a name one.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_WORDS = ("auth", "token", "secret", "password", "passwd", "api-key", "apikey", "api_key", "session", "key")
#: Names that hold one of those words but no secret.
_NOT_SECRET = frozenset({"idempotency-key", "x-idempotency-key", "sec-websocket-key"})


def is_secret_header(name: str) -> bool:
    """Whether a header called ``name`` carries credentials (see the module docstring)."""
    lowered = name.lower()
    if lowered in _SECRET_HEADERS:
        return True
    return lowered not in _NOT_SECRET and any(word in lowered for word in _SECRET_WORDS)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with the value of every header that carries credentials replaced by ``***``."""
    return {name: REDACTED if is_secret_header(name) else value for name, value in headers.items()}


def redact_auth(auth: object) -> str:
    """What may be shown of ``auth``: ``None``, ``('user', '***')`` for a pair, else only its type."""
    if auth is None:
        return "None"
    if isinstance(auth, tuple) and len(auth) == 2:
        return f"({auth[0]!r}, {REDACTED!r})"
    return f"<{type(auth).__name__}: {REDACTED}>"
