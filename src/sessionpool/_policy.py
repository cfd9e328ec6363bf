"""When a failed request is sent again: the :class:`RetryPolicy` value object.

The policy follows the rule Go's net/http uses for retrying requests: a
request the server may have acted on is sent again only if it is safe to send
twice (an idempotent method, or one carrying an idempotency key) and its body
can be sent again. Three kinds of failure may be sent again, each with its
own budget and its own *reason* (:data:`STALE`, :data:`TRANSIENT`,
:data:`READ`), the word statistics, events and logs use for it:

- *stale connections* (on by default): the server closed an idle keep-alive
  connection just as it was reused. The request never reached the server's
  application, so it is retried at once, on another connection.
- *transient failures* (off by default): no connection could be made, or the
  server answered 429, 502, 503 or 504. A connect failure sent nothing, so
  it is retried whatever the method; a status is retried only for a request
  safe to send twice.
- *read errors* (off by default): the request went out on a connection made
  for it, and the connection timed out or broke before the response came
  (urllib3's ``Retry(read=...)``). Only requests safe to send twice.

The retry loop itself is in :mod:`sessionpool._retry`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Final, Literal

from sessionpool._validate import check_bool, check_callable, check_int, check_seconds, describe

__all__ = [
    "DEFAULT_READ_ATTEMPTS",
    "DEFAULT_RETRY_METHODS",
    "DEFAULT_STALE_ATTEMPTS",
    "DEFAULT_TRANSIENT_ATTEMPTS",
    "DEFAULT_TRANSIENT_STATUSES",
    "READ",
    "STALE",
    "TRANSIENT",
    "RetryPolicy",
    "RetryReason",
]

#: Why a request is sent again: the one word for it in statistics
#: (``stale_retries``, ``transient_retries``, ``read_retries``), in
#: ``PoolListener.request_retried`` and in the log.
RetryReason = Literal["stale", "transient", "read"]

#: The reused keep-alive connection had been closed by the server.
STALE: Final = "stale"
#: No connection could be made, or the server answered a transient status.
TRANSIENT: Final = "transient"
#: The connection timed out or broke after the request went out.
READ: Final = "read"

#: Methods that RFC 9110 defines as idempotent: sending one twice has the
#: effect of sending it once, so a retry is safe.
DEFAULT_RETRY_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})

#: How many times one request may be retried after stale-connection failures.
DEFAULT_STALE_ATTEMPTS = 3

#: How many times one request may be retried after transient failures.
DEFAULT_TRANSIENT_ATTEMPTS = 3

#: How many times one request may be retried after read errors. Fewer than
#: for transient failures: each one may repeat work the server already did.
DEFAULT_READ_ATTEMPTS = 2

#: Responses that say "try again later": too many requests, and a gateway or
#: the service itself temporarily unable to answer.
DEFAULT_TRANSIENT_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """When and how a request that failed is sent again.

    :param retry_stale: retry a request safe to send twice whose reused keep-alive
        connection turned out to have been closed by the server. On by
        default: such a failure says nothing about the request or the server.
    :param stale_attempts: at most this many retries of one request for that
        reason; the last error is raised unchanged when they run out.
    :param retry_methods: the methods that are safe to send twice. Widen it
        only for an API whose other methods are idempotent too; a request of
        any method may also declare itself safe with an ``Idempotency-Key``
        or ``X-Idempotency-Key`` header.
    :param retry_transient: also retry requests that could not connect, or
        that were answered with one of ``transient_statuses``. Off by
        default: it makes callers wait, which only they can allow. A connect
        failure (refused, name resolution failed, connect timeout) sent
        nothing, so it is retried whatever the method, POST included, as long
        as the body can be sent again; a transient status is retried only for
        a request safe to send twice.
    :param transient_attempts: at most this many retries of one request for
        transient failures; the last error is raised, or the last response
        returned (see ``raise_on_status``), when they run out.
    :param transient_statuses: the response statuses retried as transient.
    :param raise_on_status: when the transient retries of a status run out,
        raise :class:`requests.exceptions.RetryError` (its ``response`` is the
        last response, already read) instead of returning the last response.
        urllib3's ``raise_on_status``; off by default.
    :param retry_read: also retry a request safe to send twice whose
        connection, made for it, timed out (``requests.ReadTimeout``) or broke
        before the response head arrived. Off by default: the server may have
        acted on the request, and a slow server is not helped by more load.
    :param read_attempts: at most this many retries of one request for read
        errors; the last error is raised when they run out.
    :param backoff_initial: seconds of the first backoff; each later one
        doubles, up to ``backoff_max``. Which retry waits how long:

        - a stale retry never waits (the server did nothing wrong);
        - after a connect failure the first retry goes at once, since
          nothing reached the server (as urllib3 2 does); later ones wait
          ``backoff_initial``, then twice that, and so on;
        - after a transient status or a read error every retry waits: the
          response's ``Retry-After`` if it has one (up to
          ``retry_after_max``), else ``backoff_initial``, then twice that,
          and so on.

        Each reason counts its own retries. A wait of 0 calls no ``sleep``.
    :param backoff_max: the longest backoff, in seconds, jitter included.
    :param backoff_jitter: up to this many random seconds added to each backoff,
        so that clients that failed together do not retry together.
    :param retry_after_max: the longest a server's ``Retry-After`` is honoured,
        in seconds; a longer one is cut to this.
    :param sleep: how to wait, given seconds (``time.sleep``); tests inject
        a recorder. Never called for a wait of 0.

    Change a policy by copying it: ``dataclasses.replace(policy, retry_stale=False)``.
    """

    retry_stale: bool = True
    stale_attempts: int = DEFAULT_STALE_ATTEMPTS
    retry_methods: Collection[str] = field(default=DEFAULT_RETRY_METHODS)
    retry_transient: bool = False
    transient_attempts: int = DEFAULT_TRANSIENT_ATTEMPTS
    transient_statuses: Collection[int] = field(default=DEFAULT_TRANSIENT_STATUSES)
    raise_on_status: bool = False
    retry_read: bool = False
    read_attempts: int = DEFAULT_READ_ATTEMPTS
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    backoff_jitter: float = 0.5
    retry_after_max: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        check_bool("RetryPolicy.retry_stale", self.retry_stale)
        check_int("RetryPolicy.stale_attempts", self.stale_attempts, minimum=0)
        object.__setattr__(self, "retry_methods", _method_set(self.retry_methods))
        check_bool("RetryPolicy.retry_transient", self.retry_transient)
        check_int("RetryPolicy.transient_attempts", self.transient_attempts, minimum=0)
        object.__setattr__(self, "transient_statuses", _status_set(self.transient_statuses))
        check_bool("RetryPolicy.raise_on_status", self.raise_on_status)
        check_bool("RetryPolicy.retry_read", self.retry_read)
        check_int("RetryPolicy.read_attempts", self.read_attempts, minimum=0)
        check_seconds("RetryPolicy.backoff_initial", self.backoff_initial, allow_zero=True)
        check_seconds("RetryPolicy.backoff_max", self.backoff_max, allow_zero=True)
        check_seconds("RetryPolicy.backoff_jitter", self.backoff_jitter, allow_zero=True)
        check_seconds("RetryPolicy.retry_after_max", self.retry_after_max, allow_zero=True)
        if self.backoff_max < self.backoff_initial:
            raise ValueError(
                f"RetryPolicy.backoff_max ({self.backoff_max}) must be >= backoff_initial ({self.backoff_initial})"
            )
        check_callable("RetryPolicy.sleep", self.sleep)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never sends a request again: requests' own behaviour."""
        return cls(retry_stale=False, retry_transient=False, retry_read=False)

    @property
    def active(self) -> bool:
        """Whether this policy may ever send a request again."""
        return (
            (self.retry_stale and self.stale_attempts > 0)
            or (self.retry_transient and self.transient_attempts > 0)
            or (self.retry_read and self.read_attempts > 0)
        )


def _method_set(methods: object) -> frozenset[str]:
    where = "RetryPolicy.retry_methods"
    if isinstance(methods, (str, bytes)) or not isinstance(methods, Collection):
        allowed = "a collection of method names such as {'GET', 'PUT'}"
        raise TypeError(f"{where} must be {allowed}, got {describe(methods)}")
    names: set[str] = set()
    for method in methods:
        if not isinstance(method, str):
            raise TypeError(f"{where} must hold method names (str), got {describe(method)}")
        if not method.isalpha():
            raise ValueError(f"{where} must hold method names made of letters, such as 'GET', got {describe(method)}")
        names.add(method.upper())
    return frozenset(names)


def _status_set(statuses: object) -> frozenset[int]:
    where = "RetryPolicy.transient_statuses"
    if not isinstance(statuses, Collection) or isinstance(statuses, (str, bytes)):
        raise TypeError(f"{where} must be a collection of HTTP statuses such as {{503}}, got {describe(statuses)}")
    codes: set[int] = set()
    for status in statuses:
        if isinstance(status, bool) or not isinstance(status, int):
            raise TypeError(f"{where} must hold HTTP statuses (int), got {describe(status)}")
        if not 400 <= status <= 599:
            raise ValueError(f"{where} must hold error statuses, from 400 to 599, got {status}")
        codes.add(status)
    return frozenset(codes)
