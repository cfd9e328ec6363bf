"""How many times a request was sent: the count its final response or error carries (:func:`attempts`)."""

from __future__ import annotations

import requests

__all__ = ["attempts", "mark_attempts"]

#: The attribute a retried request's final response (or final error) carries:
#: how many times the request was sent.
_ATTEMPTS = "sessionpool_attempts"


def attempts(outcome: requests.Response | BaseException) -> int:
    """How many times the request behind ``outcome`` (a response or an error) was sent."""
    count = getattr(outcome, _ATTEMPTS, 1)
    return count if isinstance(count, int) else 1


def mark_attempts(outcome: requests.Response | BaseException, count: int) -> None:
    """Note on ``outcome`` that its request was sent ``count`` times (0: never)."""
    setattr(outcome, _ATTEMPTS, count)
