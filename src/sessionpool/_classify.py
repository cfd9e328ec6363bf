"""Which failures may be sent again, and which requests are safe to send twice.

Pure functions over exceptions and prepared requests, kept apart from the
retry loop so that each rule can be read (and tested) on its own, and
:func:`judge`, which combines them into the one :class:`Verdict` on an
outcome that every callback of the loop asks for.

A *connect failure* is a connection that could not be made: refused, a
name that did not resolve, a connect timeout. Nothing was sent, so only the
body decides whether the request can be sent again (:func:`body_refusal`).

A *read error* is what urllib3's ``Retry(read=...)`` counts: the request
went out and the response head did not come back, because the read timed
out or the connection broke (urllib3's ``ProtocolError``), on a connection
that was not a stale one. The server may have acted on the request, so only
a request safe to send twice may be sent again (:func:`retry_refusal`).

A *stale-connection failure* is the server having closed an idle keep-alive
connection just as the client reused it: the connection was reused from the
pool, and it was lost (reset, aborted, closed, broken pipe, TLS EOF) before
any of the response arrived. The transport marks such failures where it
still knows whether the connection was reused (see
:mod:`sessionpool._transport`); this module finds the mark again under the
layers requests and urllib3 wrap around the error.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError
from urllib3.exceptions import ProxyError as Urllib3ProxyError
from urllib3.exceptions import SSLError as Urllib3SSLError

from sessionpool._compat import body_can_rewind
from sessionpool._policy import READ, STALE, TRANSIENT, RetryPolicy, RetryReason

__all__ = [
    "IDEMPOTENCY_HEADERS",
    "Verdict",
    "body_refusal",
    "is_connect_failure",
    "is_connection_loss",
    "is_read_error",
    "is_stale_connection_failure",
    "judge",
    "mark_reused_connection_failure",
    "retry_refusal",
    "root_cause",
]

#: Headers whose presence declares a request idempotent whatever its method
#: (the rule of Go's net/http).
IDEMPOTENCY_HEADERS = ("Idempotency-Key", "X-Idempotency-Key")

# How a connection is lost before any response byte. RemoteDisconnected (the
# server closed without a status line) is a ConnectionResetError. Timeouts,
# and errors that mean bytes did arrive (a bad status line, an incomplete
# body), are not among them.
_CONNECTION_LOSS = (
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)

_REUSED_MARK = "_sessionpool_on_reused_connection"


def is_connection_loss(error: BaseException) -> bool:
    """Whether ``error`` (a raw socket-level error) means the connection was lost."""
    return isinstance(error, _CONNECTION_LOSS)


def mark_reused_connection_failure(error: BaseException) -> None:
    """Note on ``error`` that it happened on a reused connection before the response head."""
    setattr(error, _REUSED_MARK, True)


def root_cause(error: BaseException) -> BaseException:
    """The error under the layers requests and urllib3 wrapped around it.

    ``requests.ConnectionError(ProtocolError('Connection aborted.', RemoteDisconnected(...)))``
    gives the ``RemoteDisconnected``; ``requests.SSLError(MaxRetryError(reason=SSLError(SSLEOFError(...))))``
    gives the ``SSLEOFError``.
    """
    return _layers(error)[-1]


def _layers(error: BaseException) -> list[BaseException]:
    """``error`` and each error it wraps, outermost first, down to its root cause."""
    layers = [error]
    for _ in range(8):  # the layers are few; the bound guards against cycles
        cause = layers[-1]
        if isinstance(cause, MaxRetryError) and cause.reason is not None:
            inner: object = cause.reason
        elif isinstance(cause, (ProtocolError, Urllib3ProxyError)) and len(cause.args) > 1:
            # urllib3 names a connection to an https target through an HTTP
            # proxy that breaks a ProxyError whenever it is closed by then,
            # which Python's http.client does on a reset: the cause is inside.
            inner = cause.args[1]
        elif isinstance(cause, (requests.RequestException, Urllib3SSLError)) and cause.args:
            inner = cause.args[0]
        else:
            break
        if not isinstance(inner, BaseException):
            break
        layers.append(inner)
    return layers


def is_stale_connection_failure(error: BaseException) -> bool:
    """Whether ``error`` is a stale-connection failure, as the module docstring defines it."""
    cause = root_cause(error)
    return getattr(cause, _REUSED_MARK, False) is True and is_connection_loss(cause)


def is_connect_failure(error: BaseException) -> bool:
    """Whether ``error`` means no connection could be made (refused, unreachable, name not resolved, timed out).

    urllib3's ``NameResolutionError`` is a ``NewConnectionError``.
    """
    if isinstance(error, requests.ConnectTimeout):
        return True
    return isinstance(error, requests.ConnectionError) and isinstance(root_cause(error), NewConnectionError)


def is_read_error(error: BaseException) -> bool:
    """Whether ``error`` is a read error, as the module docstring defines it.

    ``requests.ReadTimeout``, or a ``requests.ConnectionError`` wrapping
    urllib3's ``ProtocolError`` (``RemoteDisconnected``, a reset while
    waiting for the head) that is not a stale-connection failure.
    """
    if isinstance(error, requests.ReadTimeout):
        return True
    if not isinstance(error, requests.ConnectionError) or is_stale_connection_failure(error):
        return False
    return any(isinstance(layer, ProtocolError) for layer in _layers(error))


def retry_refusal(request: requests.PreparedRequest, policy: RetryPolicy) -> str | None:
    """Why ``request`` must not be sent twice, or ``None`` if it may be.

    A request may be sent again when its method is in ``policy.retry_methods``
    or it carries an idempotency key, and when its body can be sent again
    (:func:`body_refusal`). A header's presence is what counts, as in Go's
    net/http, whatever its value.
    """
    method = (request.method or "").upper()
    if method not in policy.retry_methods and not any(name in request.headers for name in IDEMPOTENCY_HEADERS):
        return f"{method} is not in the policy's retry methods and the request has no Idempotency-Key header"
    return body_refusal(request)


def body_refusal(request: requests.PreparedRequest) -> str | None:
    """Why the body of ``request`` cannot be sent again, or ``None`` if it can.

    It can when it is none, bytes (or a bytearray or memoryview) or str
    (forms and JSON are encoded to these), or a file that requests noted the
    start position of, to be rewound to it. This alone decides after a
    connect failure, whatever the method: nothing was sent.
    """
    body = request.body
    if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
        return None
    if hasattr(body, "read") and body_can_rewind(request):
        return None
    return f"its body ({type(body).__name__}) is a stream that cannot be sent again"


@dataclass(frozen=True)
class Verdict:
    """What the policy says of one outcome of one request: a pure function of both (:func:`judge`).

    :param reason: the kind of retry the policy has for the outcome, whether
        or not the request allows it; None if the policy covers none.
    :param refusal: why this request may not be sent again after the
        outcome, or None if it may.
    :param nothing_sent: the outcome is a connect failure: nothing reached
        the server, so the first retry needs no wait.
    """

    reason: RetryReason | None
    refusal: str | None
    nothing_sent: bool

    @property
    def retryable(self) -> bool:
        """Whether the outcome calls for a retry that the request allows."""
        return self.reason is not None and self.refusal is None


def judge(
    policy: RetryPolicy, request: requests.PreparedRequest, outcome: requests.Response | BaseException
) -> Verdict:
    """Classify ``outcome`` of sending ``request`` under ``policy``; no side effects."""
    if isinstance(outcome, BaseException):
        nothing_sent = is_connect_failure(outcome)
        reason: RetryReason | None = None
        if policy.retry_stale and is_stale_connection_failure(outcome):
            reason = STALE
        elif policy.retry_transient and nothing_sent:
            reason = TRANSIENT
        elif policy.retry_read and is_read_error(outcome):
            reason = READ
    else:
        nothing_sent = False
        transient = policy.retry_transient and outcome.status_code in policy.transient_statuses
        reason = TRANSIENT if transient else None
    if reason is None:
        return Verdict(None, None, nothing_sent)
    # After a connect failure only the body matters: nothing was sent.
    refusal = body_refusal(request) if nothing_sent else retry_refusal(request, policy)
    return Verdict(reason, refusal, nothing_sent)
